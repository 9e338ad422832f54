import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import {
  actorOf,
  CurrentPrincipal,
  generateClientSecret,
  hashClientSecret,
  Principal,
  RequireScopes,
} from '@cap/auth';
import {
  createClientBody,
  CreateClientBody,
  ListPage,
  listQuery,
  ListQuery,
  MAX_OAUTH_CLIENTS_PER_USER,
  OAuthClient,
  OAuthClientWithSecret,
  listPageSchema,
  oauthClientSchema,
  oauthClientWithSecretSchema,
} from '@cap/contracts';
import { Upstream } from '../upstream/upstream';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { ZodPipe } from '../validation/zod.pipe';

/** Third-party apps registered by the calling user. */
@Controller('v1/oauth/clients')
export class OAuthClientsController {
  constructor(private readonly upstream: Upstream) {}

  @ApiDoc({
    summary: 'List the third-party apps you registered',
    response: {
      status: 200,
      schema: listPageSchema(oauthClientSchema, 'OAuthClientList'),
      description: 'A page of OAuth clients.',
    },
  })
  @Get()
  @RequireScopes('clients:read')
  list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(listQuery)) query: ListQuery,
  ): Promise<ListPage<OAuthClient>> {
    return this.upstream.identity.call('clients.list', {
      v: 1,
      actor: actorOf(principal),
      ...query,
    });
  }

  @ApiDoc({
    summary: 'Register a third-party app (OAuth client)',
    description:
      'Redirect URIs must be https (http only on loopback), exact, with no wildcard or ' +
      "fragment. A confidential client's secret is in this response only. A user registers at " +
      `most ${MAX_OAUTH_CLIENTS_PER_USER} clients (409 quota_exceeded past that); a key ` +
      'confined to its project (`project_access: "own"`) cannot register any (403).',
    bodyExample: { name: 'My app', redirect_uris: ['https://app.example.com/callback'] },
    response: {
      status: 201,
      schema: oauthClientWithSecretSchema,
      description: 'The client, with its secret if confidential.',
    },
    errors: ['forbidden', 'quota_exceeded'],
  })
  /** A confidential client's secret is made here, sent on as a hash, and shown once. */
  @Post()
  @Idempotent()
  @HttpCode(201)
  @RequireScopes('clients:write')
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(createClientBody)) body: CreateClientBody,
  ): Promise<OAuthClientWithSecret> {
    const secret = body.type === 'confidential' ? generateClientSecret() : undefined;
    const client = await this.upstream.identity.call('clients.create', {
      v: 1,
      actor: actorOf(principal),
      name: body.name,
      redirect_uris: body.redirect_uris,
      type: body.type,
      ...(secret ? { secret_hash: hashClientSecret(secret) } : {}),
    });
    return secret ? { ...client, client_secret: secret } : client;
  }
}
