import { createHmac, hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { BASE62, isId, randomBase62 } from '@cap/contracts';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** A base64url digit (by char code) as a base62 one: 6 bits each, folded onto 62 values. */
const TO_BASE62: string[] = [];
for (let i = 0; i < 64; i++) TO_BASE62[BASE64URL.charCodeAt(i)] = BASE62[i % 62];
const RANDOM = 12;
const TAG = 8;

/**
 * Request ids of authenticated requests carry a tag, so a user can later prove a request id is
 * theirs — a support ticket about it — with nothing stored per request: `req_` + 12 random +
 * 8 tag characters, like any request id.
 *
 * The tag is SHA-256(userKey ‖ random) (about 47 bits of it), userKey = HMAC(secret, user id)
 * cached per user: one short one-shot hash per request instead of an HMAC (which costs ten
 * times more on this path).
 * Length extension cannot forge a tag: the random part has a fixed length and alphabet, so no
 * extended message is ever checked.
 */
export class RequestIdSigner {
  private readonly userKeys = new LRUCache<string, string>({ max: 100_000 });

  /** `secret` must be shared by every gateway replica, or ids verify per process only. */
  constructor(private readonly secret: Buffer) {}

  private userKey(userId: string): string {
    let key = this.userKeys.get(userId);
    if (!key) {
      key = createHmac('sha256', this.secret).update(userId).digest('hex');
      this.userKeys.set(userId, key);
    }
    return key;
  }

  private tag(random: string, userId: string): string {
    // A string digest: asking for a Buffer costs five times as much on this path.
    const mac = hash('sha256', this.userKey(userId) + random, 'base64url');
    let out = '';
    for (let i = 0; i < TAG; i++) out += TO_BASE62[mac.charCodeAt(i)];
    return out;
  }

  /**
   * `unsignedId` (the request's id as Fastify made it, `req_` + 20 random characters) signed for
   * `userId`: its first 12 random characters are kept, the last 8 become the tag.
   */
  sign(userId: string, unsignedId: string): string {
    const random =
      unsignedId.length === 4 + RANDOM + TAG
        ? unsignedId.slice(4, 4 + RANDOM)
        : randomBase62(RANDOM);
    return `req_${random}${this.tag(random, userId)}`;
  }

  owns(requestId: string, userId: string): boolean {
    if (!isId('request', requestId) || requestId.length !== 4 + RANDOM + TAG) return false;
    // isId has checked the alphabet of the whole body.
    const random = requestId.slice(4, 4 + RANDOM);
    return this.tag(random, userId) === requestId.slice(4 + RANDOM);
  }
}
