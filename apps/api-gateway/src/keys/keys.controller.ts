import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CurrentPrincipal, Principal, RequireScopes } from '@cap/auth';
import {
  ApiKey,
  ApiKeyWithSecret,
  createKeyBody,
  CreateKeyBody,
  keyIdParam,
  listKeysQuery,
  ListKeysQuery,
  ListPage,
  rotateKeyBody,
  RotateKeyBody,
  apiKeySchema,
  apiKeyWithSecretSchema,
  DEFAULT_PROJECT_RATE_LIMIT,
  listPageSchema,
  MAX_LIVE_KEYS_PER_PROJECT,
  noBody,
} from '@cap/contracts';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { ZodPipe } from '../validation/zod.pipe';
import { KeysService } from './keys.service';

@Controller('v1/keys')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  @ApiDoc({
    summary: 'Issue an API key for a project',
    description:
      'The secret is in this response only. A key acts for its creator, is counted and ' +
      'rate limited in its project, and never gets more scopes than the credential creating it. ' +
      '`project_access: "own"` confines it to its project (other projects look absent); the ' +
      'default `"member"` lets it act in every project of its creator, and a confined ' +
      'credential can only make confined keys. `rate_limit` (per minute) may not exceed the ' +
      `project's limit (default ${DEFAULT_PROJECT_RATE_LIMIT}, raised only by an operator); a key ` +
      "without one gets the project's. A project holds at most " +
      `${MAX_LIVE_KEYS_PER_PROJECT} live keys (409 quota_exceeded past that). A key made with ` +
      'an OAuth access token is revoked with that grant; a member removed from the project ' +
      'loses their keys of it.',
    bodyExample: { project_id: 'prj_789', name: 'ci', scopes: ['projects:read'] },
    response: {
      status: 201,
      schema: apiKeyWithSecretSchema,
      description: 'The key, with its secret.',
    },
    errors: ['project_not_found', 'forbidden', 'insufficient_scope', 'quota_exceeded'],
  })
  @Post()
  @Idempotent()
  @HttpCode(201)
  @RequireScopes('keys:write')
  create(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(createKeyBody)) body: CreateKeyBody,
  ): Promise<ApiKeyWithSecret> {
    return this.keys.create(principal, body);
  }

  @ApiDoc({
    summary: 'List the keys of a project',
    description: 'Never the secrets: `redacted` shows the prefix and the last four characters.',
    response: {
      status: 200,
      schema: listPageSchema(apiKeySchema, 'ApiKeyList'),
      description: 'A page of keys.',
    },
    errors: ['project_not_found'],
  })
  @Get()
  @RequireScopes('keys:read')
  list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(listKeysQuery)) query: ListKeysQuery,
  ): Promise<ListPage<ApiKey>> {
    return this.keys.list(principal, query);
  }

  @ApiDoc({
    summary: 'Revoke a key now',
    description: 'Every gateway refuses it within a second.',
    response: { status: 200, schema: apiKeySchema, description: 'The revoked key.' },
    errors: ['key_not_found', 'forbidden'],
  })
  @Post(':id/revoke')
  @Idempotent()
  @HttpCode(200)
  @RequireScopes('keys:write')
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(noBody)) _body: unknown,
    @Param(new ZodPipe(keyIdParam)) params: { id: string },
  ): Promise<ApiKey> {
    return this.keys.revoke(principal, params.id);
  }

  @ApiDoc({
    summary: 'Rotate a key: a new secret, the old one working for a grace period',
    description:
      "Only the key's creator may rotate it, with a credential holding every scope the key has " +
      '(admins and owners may revoke it instead). The key keeps all its restrictions.',
    bodyExample: { grace_period_seconds: 3600 },
    response: {
      status: 200,
      schema: apiKeyWithSecretSchema,
      description: 'The key with its new secret.',
    },
    errors: ['key_not_found', 'forbidden', 'insufficient_scope'],
  })
  @Post(':id/rotate')
  @Idempotent()
  @HttpCode(200)
  @RequireScopes('keys:write')
  rotate(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodPipe(keyIdParam)) params: { id: string },
    @Body(new ZodPipe(rotateKeyBody)) body: RotateKeyBody,
  ): Promise<ApiKeyWithSecret> {
    return this.keys.rotate(principal, params.id, body);
  }
}
