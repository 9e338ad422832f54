import { HttpClient, RequestOptions } from './core.js';
import { Operations, OPERATIONS } from './openapi-types.js';
import { Page, PagePromise } from './pagination.js';
import { PENDING_OPERATIONS, PendingOperations } from './pending.js';

type AllOperations = PendingOperations & Operations;
/** Every operation the SDK can send: the document's (generated) and the announced ones. */
export const ALL_OPERATIONS = { ...PENDING_OPERATIONS, ...OPERATIONS };
export type OperationName = keyof AllOperations & keyof typeof ALL_OPERATIONS;

export type PathOf<O extends OperationName> = AllOperations[O]['path'];
export type QueryOf<O extends OperationName> = AllOperations[O]['query'];
export type BodyOf<O extends OperationName> = AllOperations[O]['body'];
export type ResultOf<O extends OperationName> = AllOperations[O]['response'];
export type ItemOf<O extends OperationName> = ResultOf<O> extends Page<infer T> ? T : never;

/**
 * The SDK's resources and methods, each naming the operation (`operationId` of
 * `GET /v1/openapi.json`) it sends. The drift test checks that this table and the document
 * name the same operations, and the Python SDK's table too: a new route is a new line here and
 * a one-line method below.
 */
export const RESOURCE_METHODS = {
  projects: {
    list: 'getProjects',
    create: 'postProjects',
    retrieve: 'getProjectsId',
    update: 'patchProjectsId',
    del: 'deleteProjectsId',
  },
  members: {
    list: 'getProjectsIdMembers',
    add: 'postProjectsIdMembers',
    update: 'patchProjectsIdMembersUserId',
    remove: 'deleteProjectsIdMembersUserId',
  },
  invitations: {
    list: 'getInvitations',
    accept: 'postInvitationsIdAccept',
    listForProject: 'getProjectsIdInvitations',
    revoke: 'deleteProjectsIdInvitationsInvitationId',
  },
  keys: {
    create: 'postKeys',
    list: 'getKeys',
    revoke: 'postKeysIdRevoke',
    rotate: 'postKeysIdRotate',
  },
  usage: { retrieve: 'getUsage' },
  user: { retrieve: 'getUser' },
  regions: { list: 'getRegions' },
  supportTickets: {
    list: 'getSupportTickets',
    create: 'postSupportTickets',
    retrieve: 'getSupportTicketsId',
  },
  oauthClients: { list: 'getOauthClients', create: 'postOauthClients' },
  openapi: { retrieve: 'getOpenapi.json' },
} as const satisfies Record<string, Record<string, OperationName>>;

const M = RESOURCE_METHODS;

interface Parts<O extends OperationName> {
  path?: PathOf<O>;
  query?: QueryOf<O>;
  body?: BodyOf<O>;
}

abstract class Resource {
  constructor(protected readonly http: HttpClient) {}

  protected call<O extends OperationName>(
    op: O,
    parts: Parts<O>,
    opts?: RequestOptions,
  ): Promise<ResultOf<O>> {
    const { method, path } = ALL_OPERATIONS[op];
    return this.http.request<ResultOf<O>>(
      {
        method,
        path,
        pathParams: parts.path,
        query: parts.query,
        body: parts.body,
      },
      opts,
    );
  }

  protected page<O extends OperationName>(
    op: O,
    parts: Parts<O>,
    opts?: RequestOptions,
  ): PagePromise<ItemOf<O>> {
    const query = (parts.query ?? {}) as { starting_after?: string };
    return new PagePromise<ItemOf<O>>(
      (startingAfter) =>
        this.call(
          op,
          { ...parts, query: { ...query, starting_after: startingAfter } },
          opts,
        ) as Promise<Page<ItemOf<O>>>,
      query.starting_after,
    );
  }
}

export class Projects extends Resource {
  /** Projects visible to the caller, newest first. */
  list(params: QueryOf<'getProjects'> = {}, opts?: RequestOptions) {
    return this.page(M.projects.list, { query: params }, opts);
  }
  create(params: BodyOf<'postProjects'>, opts?: RequestOptions) {
    return this.call(M.projects.create, { body: params }, opts);
  }
  retrieve(id: string, opts?: RequestOptions) {
    return this.call(M.projects.retrieve, { path: { id } }, opts);
  }
  update(id: string, params: BodyOf<'patchProjectsId'>, opts?: RequestOptions) {
    return this.call(M.projects.update, { path: { id }, body: params }, opts);
  }
  /** Deletes the project and revokes its keys. */
  del(id: string, opts?: RequestOptions) {
    return this.call(M.projects.del, { path: { id } }, opts);
  }
}

export class Members extends Resource {
  list(projectId: string, params: QueryOf<'getProjectsIdMembers'> = {}, opts?: RequestOptions) {
    return this.page(M.members.list, { path: { id: projectId }, query: params }, opts);
  }
  /** Invites `email` with `role`: the result is the pending Invitation, accepted by its user. */
  add(projectId: string, params: BodyOf<'postProjectsIdMembers'>, opts?: RequestOptions) {
    return this.call(M.members.add, { path: { id: projectId }, body: params }, opts);
  }
  /** Changes a member's role: `update(projectId, userId, { role })`; the result is the Member. */
  update(
    projectId: string,
    userId: string,
    params: BodyOf<'patchProjectsIdMembersUserId'>,
    opts?: RequestOptions,
  ) {
    return this.call(
      M.members.update,
      { path: { id: projectId, user_id: userId }, body: params },
      opts,
    );
  }
  remove(projectId: string, userId: string, opts?: RequestOptions) {
    return this.call(M.members.remove, { path: { id: projectId, user_id: userId } }, opts);
  }
}

export class Invitations extends Resource {
  /** Invitations waiting for the caller. */
  list(params: QueryOf<'getInvitations'> = {}, opts?: RequestOptions) {
    return this.page(M.invitations.list, { query: params }, opts);
  }
  /** Accepts an invitation waiting for the caller: the caller joins its project. */
  accept(id: string, opts?: RequestOptions) {
    return this.call(M.invitations.accept, { path: { id } }, opts);
  }
  /** A project's pending invitations (the ones `members.add` sent). */
  listForProject(
    projectId: string,
    params: QueryOf<'getProjectsIdInvitations'> = {},
    opts?: RequestOptions,
  ) {
    return this.page(
      M.invitations.listForProject,
      { path: { id: projectId }, query: params },
      opts,
    );
  }
  /** Revokes a project's pending invitation. */
  revoke(projectId: string, invitationId: string, opts?: RequestOptions) {
    return this.call(
      M.invitations.revoke,
      { path: { id: projectId, invitation_id: invitationId } },
      opts,
    );
  }
}

export class Keys extends Resource {
  /** Issues a key; its `secret` is in this result only (also when the call was retried). */
  create(params: BodyOf<'postKeys'>, opts?: RequestOptions) {
    return this.call(M.keys.create, { body: params }, opts);
  }
  list(params: QueryOf<'getKeys'>, opts?: RequestOptions) {
    return this.page(M.keys.list, { query: params }, opts);
  }
  revoke(id: string, opts?: RequestOptions) {
    return this.call(M.keys.revoke, { path: { id } }, opts);
  }
  /** A new secret; the old one keeps working for `grace_period_seconds` (default 24 h). */
  rotate(id: string, params: BodyOf<'postKeysIdRotate'> = {}, opts?: RequestOptions) {
    return this.call(M.keys.rotate, { path: { id }, body: params }, opts);
  }
}

export class Usage extends Resource {
  retrieve(params: QueryOf<'getUsage'>, opts?: RequestOptions) {
    return this.call(M.usage.retrieve, { query: params }, opts);
  }
}

export class Users extends Resource {
  /** The user behind the credential. */
  retrieve(opts?: RequestOptions) {
    return this.call(M.user.retrieve, {}, opts);
  }
}

export class Regions extends Resource {
  list(params: QueryOf<'getRegions'> = {}, opts?: RequestOptions) {
    return this.page(M.regions.list, { query: params }, opts);
  }
}

export class SupportTickets extends Resource {
  list(params: QueryOf<'getSupportTickets'> = {}, opts?: RequestOptions) {
    return this.page(M.supportTickets.list, { query: params }, opts);
  }
  create(params: BodyOf<'postSupportTickets'>, opts?: RequestOptions) {
    return this.call(M.supportTickets.create, { body: params }, opts);
  }
  retrieve(id: string, opts?: RequestOptions) {
    return this.call(M.supportTickets.retrieve, { path: { id } }, opts);
  }
}

export class OAuthClients extends Resource {
  list(params: QueryOf<'getOauthClients'> = {}, opts?: RequestOptions) {
    return this.page(M.oauthClients.list, { query: params }, opts);
  }
  /** Registers a third-party app; a confidential client's `client_secret` is shown once. */
  create(params: BodyOf<'postOauthClients'>, opts?: RequestOptions) {
    return this.call(M.oauthClients.create, { body: params }, opts);
  }
}

export class OpenApi extends Resource {
  /** The OpenAPI 3.1 document (public: no credential needed). */
  retrieve(opts?: RequestOptions) {
    return this.call(M.openapi.retrieve, {}, opts);
  }
}
