import { createHmac, randomBytes } from 'node:crypto';
import { isId, randomBase62 } from '@cap/contracts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM = 12;
const TAG = 8;

/**
 * Request ids of authenticated requests carry a tag (a truncated HMAC of their random part and
 * the user id), so a user can later prove a request id is theirs — a support ticket about it —
 * with nothing stored per request. `req_` + 12 random + 8 tag characters, like any request id.
 */
export class RequestIdSigner {
  private readonly key: Buffer;

  /** `secret` must be shared by every gateway replica; without one, ids verify per process. */
  constructor(secret?: string) {
    this.key = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  private tag(random: string, userId: string): string {
    const mac = createHmac('sha256', this.key).update(`${random}\u0000${userId}`).digest();
    let out = '';
    for (let i = 0; i < TAG; i++) out += BASE62[mac[i] % 62];
    return out;
  }

  sign(userId: string): string {
    const random = randomBase62(RANDOM);
    return `req_${random}${this.tag(random, userId)}`;
  }

  owns(requestId: string, userId: string): boolean {
    if (!isId('request', requestId) || requestId.length !== 4 + RANDOM + TAG) return false;
    const random = requestId.slice(4, 4 + RANDOM);
    return this.tag(random, userId) === requestId.slice(4 + RANDOM);
  }
}
