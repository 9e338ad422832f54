import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { actorOf, CurrentPrincipal, Principal, RequireScopes } from '@cap/auth';
import {
  createTicketBody,
  CreateTicketBody,
  DomainError,
  ListPage,
  listQuery,
  ListQuery,
  SupportTicket,
  ticketIdParam,
  listPageSchema,
  supportTicketSchema,
} from '@cap/contracts';
import { RequestIdSigner } from '../data-plane/request-ids';
import { Upstream } from '../upstream/upstream';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { ZodPipe } from '../validation/zod.pipe';

@Controller('v1/support/tickets')
export class TicketsController {
  constructor(
    private readonly upstream: Upstream,
    private readonly requestIds: RequestIdSigner,
  ) {}

  @ApiDoc({
    summary: 'List your support tickets',
    response: {
      status: 200,
      schema: listPageSchema(supportTicketSchema, 'SupportTicketList'),
      description: 'A page of tickets, newest first.',
    },
  })
  @Get()
  @RequireScopes('support:read')
  list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(listQuery)) query: ListQuery,
  ): Promise<ListPage<SupportTicket>> {
    return this.upstream.projects.call('tickets.list', {
      v: 1,
      actor: actorOf(principal),
      ...query,
    });
  }

  @ApiDoc({
    summary: 'Read one of your support tickets',
    response: { status: 200, schema: supportTicketSchema, description: 'The ticket.' },
    errors: ['not_found'],
  })
  @Get(':id')
  @RequireScopes('support:read')
  get(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodPipe(ticketIdParam)) params: { id: string },
  ): Promise<SupportTicket> {
    return this.upstream.projects.call('tickets.get', {
      v: 1,
      actor: actorOf(principal),
      ticket_id: params.id,
    });
  }

  @ApiDoc({
    summary: 'Open a support ticket',
    description: 'Attach the `Request-Id` of requests you are asking about; they must be yours.',
    bodyExample: {
      subject: 'Unexpected 503',
      body: 'This request failed twice.',
      request_ids: ['req_3fQ9aZ8vY8qW8k9fFzq3'],
    },
    response: { status: 201, schema: supportTicketSchema, description: 'The new ticket.' },
  })
  /** Request ids must be the caller's own: their tags are checked here. */
  @Post()
  @Idempotent()
  @HttpCode(201)
  @RequireScopes('support:write')
  create(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(createTicketBody)) body: CreateTicketBody,
  ): Promise<SupportTicket> {
    const actor = actorOf(principal);
    const foreign = body.request_ids.findIndex((id) => !this.requestIds.owns(id, actor.user_id));
    if (foreign >= 0) {
      throw new DomainError(
        'invalid_request',
        `${body.request_ids[foreign]} is not the id of one of your requests.`,
        { param: `request_ids.${foreign}` },
      );
    }
    return this.upstream.projects.call('tickets.create', { v: 1, actor, ...body });
  }
}
