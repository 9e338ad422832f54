import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * What an idempotency record holds in Redis, made unreadable to anyone who can read Redis.
 *
 * A stored response can hold a secret shown once (`POST /v1/keys`, `/rotate`, `POST
 * /v1/oauth/clients`), and a client that lost that response must still get it on retry. So the
 * body is sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the gateway's secret
 * and the client's own `Idempotency-Key`. Redis never holds that key in clear: the record is
 * named by an HMAC of it under the same secret. Reading the secret out of Redis therefore needs
 * both the gateway's secret and the client's Idempotency-Key; a guessable key (`"1"`) is still
 * protected by the gateway's secret, and the secret alone opens no record without its key.
 */
export class IdempotencySeal {
  private readonly nameKey: Buffer;

  /** `secret` must be shared by every gateway replica, or replays work per process only. */
  constructor(private readonly secret: Buffer) {
    this.nameKey = Buffer.from(hkdfSync('sha256', secret, '', 'cap idempotency names v1', 32));
  }

  /** The record's name for this principal's `Idempotency-Key` (no key material in it). */
  recordName(prefix: string, bucket: string, idempotencyKey: string): string {
    const mac = createHmac('sha256', this.nameKey)
      .update(`${bucket}\n${idempotencyKey}`)
      .digest('hex');
    return `${prefix}:idem:{${bucket}}:${mac}`;
  }

  /** `plaintext` sealed for this record; `record` (its name) is bound in as associated data. */
  seal(record: string, idempotencyKey: string, plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.bodyKey(record, idempotencyKey), iv);
    cipher.setAAD(Buffer.from(record));
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url')}`;
  }

  /** The plaintext, or `null` when it was not sealed for this record and key (or was altered). */
  open(record: string, idempotencyKey: string, sealed: string): string | null {
    if (!sealed.startsWith(`${VERSION}.`)) return null;
    const raw = Buffer.from(sealed.slice(VERSION.length + 1), 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) return null;
    try {
      const decipher = createDecipheriv(
        'aes-256-gcm',
        this.bodyKey(record, idempotencyKey),
        raw.subarray(0, IV_BYTES),
      );
      decipher.setAAD(Buffer.from(record));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([
        decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      return null;
    }
  }

  private bodyKey(record: string, idempotencyKey: string): Buffer {
    return Buffer.from(
      hkdfSync('sha256', this.secret, record, `cap idempotency body v1\n${idempotencyKey}`, 32),
    );
  }
}
