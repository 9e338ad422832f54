/**
 * The least the public contract asks of an authenticated, rate-limited, metered
 * `GET /v1/regions`, as two route hooks, with none of the platform around them — no Nest, no
 * Redis, no cache eviction, no expiry, no errors. Served by bare Fastify
 * (`contract-floor-server.ts`) and behind a Nest controller (`contract-floor-nest.ts`): the two
 * show what the contract itself costs on this runtime, and what Nest's controller model adds.
 *
 * Per request, as DESIGN.md §3 asks: a random `req_` id; the API key looked up by its SHA-256 in
 * a Map; the id signed for the caller (one more SHA-256); a permit taken from a local counter;
 * `Request-Id` and the five `RateLimit*` / `X-RateLimit-*` headers; one count in a Map once
 * the response is out.
 */
import { hash } from 'node:crypto';
import type { FastifyRequest, onRequestHookHandler, onResponseHookHandler } from 'fastify';
import { randomBase62 } from '@cap/contracts';

const LIMIT = 100_000_000;
const WINDOW_S = 60;

interface Caller {
  keyId: string;
  projectId: string;
  userKey: string;
  used: number;
}
type FloorRequest = FastifyRequest & { caller: Caller };

/** Any bearer token is a known key here: the cost measured is the lookup, not the check. */
const callers = new Map<string, Caller>();
const counts = new Map<string, number>();

export const floorRequestId = () => `req_${randomBase62(20)}`;

export const floorOnRequest: onRequestHookHandler = (req, reply, done) => {
  const token = (req.headers.authorization ?? '').slice(7);
  const digest = hash('sha256', token, 'hex');
  let caller = callers.get(digest);
  if (!caller) {
    caller = { keyId: 'key_floor', projectId: 'prj_floor', userKey: digest, used: 0 };
    callers.set(digest, caller);
  }
  (req as FloorRequest).caller = caller;
  const random = req.id.slice(4, 16);
  req.id = `req_${random}${hash('sha256', caller.userKey + random, 'base64url').slice(0, 8)}`;
  caller.used += 1;
  const limit = String(LIMIT);
  const remaining = String(LIMIT - caller.used);
  void reply
    .header('request-id', req.id)
    .header('ratelimit-policy', `"default";q=${limit};w=${WINDOW_S}`)
    .header('ratelimit', `"default";r=${remaining};t=${WINDOW_S}`)
    .header('x-ratelimit-limit', limit)
    .header('x-ratelimit-remaining', remaining)
    .header('x-ratelimit-reset', String(Math.ceil(Date.now() / 1000) + WINDOW_S));
  done();
};

export const floorOnResponse: onResponseHookHandler = (req, reply, done) => {
  const { caller } = req as FloorRequest;
  const key = `${caller.projectId}|${caller.keyId}|GET /v1/regions|${Math.floor(reply.statusCode / 100)}xx|${Math.floor(Date.now() / 60_000)}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
  done();
};
