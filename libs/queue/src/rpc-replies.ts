import type { RpcReply } from '@cap/contracts';

/**
 * How replies travel back: each `RpcClient` owns a Redis stream, and its job ids name it
 * (`<client id>.<call id>`), so a server appends each reply to the one caller waiting for it.
 * Callers do not read the queue's event stream, which every caller would have to read whole —
 * every reply to every replica — and parse. A stream, not a list: reading does not remove, so
 * a reply read just as the connection drops is read again after the reconnect; the client
 * trims what it has handled.
 */

/** A reply stream nobody reads any more (its client is gone) disappears after this long. */
export const REPLY_TTL_MS = 60_000;

/** The field of a stream entry that holds the reply (`ReplyMessage` as JSON). */
export const REPLY_FIELD = 'm';

/** The stream a client's replies are appended to (hash-tagged: one Cluster slot per client). */
export function replyKey(prefix: string, clientId: string): string {
  return `${prefix}:rpc-replies:{${clientId}}`;
}

/** A job id for a call of `clientId` (BullMQ ids may not contain `:` or be integers). */
export function callJobId(clientId: string, callId: string): string {
  return `${clientId}.${callId}`;
}

/** The client a job id names, if it names one (older callers used bare UUIDs). */
export function callerOf(jobId: string | undefined): string | undefined {
  const dot = jobId?.indexOf('.') ?? -1;
  return dot > 0 ? jobId!.slice(0, dot) : undefined;
}

/** What is appended to a reply stream. */
export interface ReplyMessage {
  id: string;
  reply: RpcReply<unknown>;
}
