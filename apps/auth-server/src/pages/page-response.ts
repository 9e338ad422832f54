import type { FastifyReply, FastifyRequest } from 'fastify';
import { PAGE_CSP } from './views';

/** What a page handler answers: an HTML page with a status, or a redirect (303, See Other). */
export type PageResult =
  { status: number; html: string; headers?: Record<string, string> } | { redirect: string };

export const page = (html: string, status = 200, headers?: Record<string, string>): PageResult => ({
  status,
  html,
  headers,
});

/** Writes a page result; every page gets the same security headers and is never cached. */
export async function sendPage(reply: FastifyReply, result: Promise<PageResult>): Promise<void> {
  const outcome = await result;
  void reply
    .header('Cache-Control', 'no-store')
    .header('Content-Security-Policy', PAGE_CSP)
    .header('X-Frame-Options', 'DENY')
    .header('Referrer-Policy', 'no-referrer');
  if ('redirect' in outcome) {
    await reply.redirect(outcome.redirect, 303);
    return;
  }
  await reply
    .status(outcome.status)
    .headers(outcome.headers ?? {})
    .type('text/html; charset=utf-8')
    .send(outcome.html);
}

/** A form field as one string (the first of repeated ones), or undefined. */
export function field(req: FastifyRequest, name: string): string | undefined {
  const body = req.body as Record<string, unknown> | undefined;
  const value = body?.[name];
  const first = Array.isArray(value) ? (value[0] as unknown) : value;
  return typeof first === 'string' ? first : undefined;
}

/**
 * The address the request came from: Fastify's `req.ip`, which is the right-most
 * `X-Forwarded-For` hop not among the trusted proxies (TRUST_PROXY), else the socket's peer.
 */
export function clientIp(req: FastifyRequest): string {
  return req.ip;
}

/** What a page handler needs of a request: Node's req and res (for oidc-provider), the form. */
export interface PageRequest {
  req: import('node:http').IncomingMessage;
  res: import('node:http').ServerResponse;
  ip: string;
  form(name: string): string | undefined;
}

export function pageRequest(req: FastifyRequest, reply: FastifyReply): PageRequest {
  return {
    req: req.raw,
    res: reply.raw,
    ip: clientIp(req),
    form: (name) => field(req, name),
  };
}
