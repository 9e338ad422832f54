import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiError } from './api.client';
import type { FailedRequest, Session } from './session.store';

/** A form body as @fastify/formbody parses it. */
export type Form = Record<string, string | string[] | undefined>;

/** A signed-in request: the session and the API on the user's behalf. */
export interface Ctx {
  id: string;
  session: Session;
  /**
   * Calls `/v1` with the user's access token. A failure with a request id is remembered for the
   * support form, unless `unrecorded` says it is not worth offering.
   */
  call<T>(
    method: string,
    path: string,
    body?: unknown,
    options?: { unrecorded?: (err: ApiError) => boolean },
  ): Promise<T>;
  /** This session's failed API calls, newest first. */
  failures(): Promise<FailedRequest[]>;
}

export type Handler = (req: FastifyRequest, reply: FastifyReply, ctx: Ctx) => Promise<unknown>;

/** What each feature's pages are built with (server.ts). */
export interface Kit {
  /** A page for signed-in users; anyone else is sent to sign in. */
  get(path: string, handler: Handler): void;
  /** A state-changing form: same-origin, with the session's CSRF token. */
  post(path: string, handler: Handler): void;
  view(reply: FastifyReply, ctx: Ctx, title: string, body: string, status?: number): FastifyReply;
  /** An API error as a page: readable, its request id copyable, a ticket one click away. */
  failed(
    reply: FastifyReply,
    ctx: Ctx,
    title: string,
    err: unknown,
    back?: string,
  ): Promise<FastifyReply>;
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** A form field's first value, trimmed. */
export const str = (form: Form, name: string) => {
  const v = form[name];
  return (Array.isArray(v) ? v[0] : v)?.trim() ?? '';
};

/** Every value of a repeated field (checkboxes), trimmed, empty ones dropped. */
export const list = (form: Form, name: string) => {
  const v = form[name];
  return (Array.isArray(v) ? v : v ? [v] : []).map((s) => s.trim()).filter(Boolean);
};

const ID = /^[a-z]{3}_[0-9A-Za-z]{1,64}$/;

/** A route's `:name` parameter if it is id-shaped; otherwise one the API will not find. */
export const idParam = (req: FastifyRequest, name = 'id') => {
  const id = (req.params as Record<string, string>)[name] ?? '';
  return ID.test(id) ? id : 'prj_invalid';
};

export const isIdShaped = (s: string) => ID.test(s);
