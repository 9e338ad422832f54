import type { RpcReply } from '@cap/contracts';

/**
 * How replies travel back: each `RpcClient` owns a Redis list, and its job ids name it
 * (`<client id>.<call id>`), so a server pushes each reply to the one caller waiting for it.
 * Callers do not read the queue's event stream, which every caller would have to read whole —
 * every reply to every replica — and parse.
 */

/** A reply list nobody reads any more (its client is gone) disappears after this long. */
export const REPLY_TTL_MS = 60_000;

/** The list a client's replies are pushed to. */
export function replyKey(prefix: string, clientId: string): string {
  return `${prefix}:rpc-replies:${clientId}`;
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

/** What is pushed to a reply list. */
export interface ReplyMessage {
  id: string;
  reply: RpcReply<unknown>;
}
