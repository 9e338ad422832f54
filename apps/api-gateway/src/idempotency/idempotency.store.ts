import { JSON_CONTENT_TYPE } from '@cap/observability';
import type { RedisClient } from '@cap/queue';

/**
 * One record per (principal, Idempotency-Key) in Redis: `running` while the first request
 * executes (with a short TTL, so a crashed gateway cannot wedge the key), then `done` with the
 * response for 24 h. The fingerprint (method, path, body) tells a reuse with other parameters.
 */
const BEGIN = `
local v = redis.call('HGETALL', KEYS[1])
if #v == 0 then
  redis.call('HSET', KEYS[1], 'state', 'running', 'fp', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return { 'new' }
end
local h = {}
for i = 1, #v, 2 do h[v[i]] = v[i + 1] end
if h['fp'] ~= ARGV[1] then return { 'mismatch' } end
if h['state'] == 'running' then return { 'running' } end
return { 'done', h['status'], h['body'], h['ctype'] }
`;

const COMPLETE = `
if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[2], 'body', ARGV[3], 'ctype', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

const RELEASE = `
if redis.call('HGET', KEYS[1], 'state') == 'running' and redis.call('HGET', KEYS[1], 'fp') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

export type Begin =
  | { kind: 'new' }
  | { kind: 'mismatch' }
  | { kind: 'running'; retryAfterSeconds: number }
  | { kind: 'done'; status: number; body: string; contentType: string };

type Script = (key: string, ...args: (string | number)[]) => Promise<unknown>;

export class IdempotencyStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly options: { runningTtlMs: number; keepMs: number },
  ) {
    redis.defineCommand('capIdemBegin', { numberOfKeys: 1, lua: BEGIN });
    redis.defineCommand('capIdemComplete', { numberOfKeys: 1, lua: COMPLETE });
    redis.defineCommand('capIdemRelease', { numberOfKeys: 1, lua: RELEASE });
  }

  private get scripts() {
    return this.redis as unknown as {
      capIdemBegin: Script;
      capIdemComplete: Script;
      capIdemRelease: Script;
    };
  }

  async begin(key: string, fingerprint: string): Promise<Begin> {
    const r = (await this.scripts.capIdemBegin(
      key,
      fingerprint,
      this.options.runningTtlMs,
    )) as string[];
    switch (r[0]) {
      case 'new':
        return { kind: 'new' };
      case 'mismatch':
        return { kind: 'mismatch' };
      case 'running':
        // Requests finish in milliseconds; the record's TTL only guards against a crashed gateway.
        return { kind: 'running', retryAfterSeconds: 1 };
      default:
        return { kind: 'done', status: Number(r[1]), body: r[2] ?? '', contentType: r[3] ?? '' };
    }
  }

  async complete(key: string, fingerprint: string, status: number, body: string): Promise<void> {
    await this.scripts.capIdemComplete(
      key,
      fingerprint,
      status,
      body,
      JSON_CONTENT_TYPE,
      this.options.keepMs,
    );
  }

  async release(key: string, fingerprint: string): Promise<void> {
    await this.scripts.capIdemRelease(key, fingerprint);
  }
}
