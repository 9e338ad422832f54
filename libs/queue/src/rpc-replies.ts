import type { RpcReply } from '@cap/contracts';
import { bullQueueName } from './redis';

/**
 * How calls travel (`RpcClient` → `RpcServer`) and replies come back, on Redis streams.
 *
 * A call is one entry appended to its queue's request stream (`requestKey`), read by the
 * servers of that queue through one consumer group: each entry goes to one server, which
 * acknowledges it once it has replied. The entry names its caller, and the server appends the
 * reply to that caller's own reply stream (`replyKey`), read by one blocking loop in the client
 * that settles pending calls by id. Streams, not lists: reading does not remove, so an entry or
 * reply read just as a connection drops is read again after the reconnect.
 *
 * Delivery is at most once. A call carries its deadline (`t`, from the entry's Redis-clock id),
 * and a server drops what it reads past it, so a call nobody could serve in time never runs
 * after its caller gave up; entries left unacknowledged by a server that died are never run
 * again, only cleared (their callers got `503 upstream_timeout` at their deadline).
 */

/** A reply stream nobody reads any more (its client is gone) disappears after this long. */
export const REPLY_TTL_MS = 60_000;

/** The field of a reply stream entry that holds the reply (`ReplyMessage` as JSON). */
export const REPLY_FIELD = 'm';

/** The consumer group every server of a queue reads the queue's request stream in. */
export const RPC_GROUP = 'rpc';

/** Request entries older than this are trimmed (far past any deadline). */
export const REQUEST_RETENTION_MS = 300_000;

/**
 * The stream a queue's calls are appended to, under the queue's own hash-tagged keys
 * (`<prefix>:{<queue>}:`, one Cluster slot per queue, the pattern its ACL users are given).
 */
export function requestKey(prefix: string, queue: string): string {
  return `${prefix}:${bullQueueName(queue)}:requests`;
}

/** The stream a client's replies are appended to (hash-tagged: one Cluster slot per client). */
export function replyKey(prefix: string, clientId: string): string {
  return `${prefix}:rpc-replies:{${clientId}}`;
}

/** The id a call is known by in replies: `<client id>.<call id>`. */
export function callJobId(clientId: string, callId: string): string {
  return `${clientId}.${callId}`;
}

/** The fields of a request entry. */
export interface RequestFields {
  /** The job's name (`projects.list`, …). */
  n: string;
  /** Its payload, as JSON. */
  p: string;
  /** The calling client's id (its reply stream). */
  c: string;
  /** The call's id within the client. */
  i: string;
  /** The call's deadline, in milliseconds after the entry's id time. */
  t: string;
}

/** What is appended to a reply stream. */
export interface ReplyMessage {
  id: string;
  reply: RpcReply<unknown>;
}
