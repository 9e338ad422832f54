import type { FastifyRequest, onSendHookHandler } from 'fastify';

/** A response known in full before the handler would run: an idempotent replay, say. */
export interface PreparedReply {
  status: number;
  headers: Record<string, string>;
  /** The bytes to send, as kept. */
  body: string;
}

const PREPARED = Symbol('prepared reply');
type WithPrepared = FastifyRequest & { [PREPARED]?: PreparedReply };

/**
 * Answers the request with `prepared` instead of what the handler chain returns: the chain goes
 * on with the `null` this returns (no exception, no error filter), and `sendPrepared`, on the
 * route's `onSend`, puts the prepared status, headers and bytes in its place.
 */
export function answerWith(req: FastifyRequest, prepared: PreparedReply): null {
  (req as WithPrepared)[PREPARED] = prepared;
  return null;
}

/** The `onSend` hook of the routes that may answer with `answerWith`. */
export const sendPrepared: onSendHookHandler = (req, reply, payload, done) => {
  const prepared = (req as WithPrepared)[PREPARED];
  if (!prepared) return done(null, payload);
  void reply.code(prepared.status).headers(prepared.headers);
  done(null, prepared.body);
};
