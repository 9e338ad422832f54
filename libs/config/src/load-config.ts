import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Which proxies in front of an app are trusted to say who the client is (`X-Forwarded-For`):
 * `false`/`0` none (the socket's peer is the client), a number N (the N proxies nearest to the
 * app; `true` is 1), or a comma-separated list of addresses and CIDR ranges (any hop in them;
 * `loopback`, `linklocal`, `uniquelocal` name the usual ranges). The client is the right-most
 * hop not trusted: whatever a client writes at the front of the header is never believed.
 * Returns what Fastify's `trustProxy` takes (and `false` when nothing is trusted).
 */
export function trustProxyEnv() {
  return z
    .string()
    .trim()
    .default('false')
    .transform((v, ctx): false | number | string[] => {
      if (v === '' || v === 'false' || v === '0') return false;
      if (v === 'true') return 1;
      if (/^\d+$/.test(v)) {
        const hops = Number(v);
        if (hops <= 10) return hops;
      } else {
        const list = v.split(',').map((s) => s.trim());
        if (list.every((s) => NAMED_RANGES.has(s) || isAddressOrCidr(s))) return list;
      }
      ctx.addIssue({
        code: 'custom',
        message: 'must be false, a number of proxies (0-10) or a list of addresses/CIDR ranges',
      });
      return z.NEVER;
    });
}

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrCidr(s: string): boolean {
  const [address, bits, extra] = s.split('/');
  if (extra !== undefined) return false;
  const family = isIP(address ?? '');
  if (family === 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** `host:port,host:port` (IPv6 hosts in brackets), parsed into a list. */
export function hostPortList() {
  return z
    .string()
    .trim()
    .transform((v, ctx): { host: string; port: number }[] => {
      const out: { host: string; port: number }[] = [];
      for (const item of v.split(',').map((s) => s.trim())) {
        const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
        const port = Number(m?.[2]);
        if (!m || port < 1 || port > 65535) {
          ctx.addIssue({ code: 'custom', message: `"${item}" is not host:port` });
          return z.NEVER;
        }
        out.push({ host: m[1].replace(/^\[|\]$/g, ''), port });
      }
      return out;
    });
}

/** The Redis settings of `baseEnv`, as parsed. */
export interface RedisEnv {
  REDIS_URL: string;
  REDIS_SENTINELS?: { host: string; port: number }[];
  REDIS_SENTINEL_NAME?: string;
  REDIS_SENTINEL_PASSWORD?: string;
  REDIS_CLUSTER_NODES?: { host: string; port: number }[];
  REDIS_USERNAME?: string;
  REDIS_PASSWORD?: string;
}

/** What is wrong with a combination of Redis settings (each alone being valid). */
function redisModeIssues(env: Partial<RedisEnv>): string[] {
  const issues: string[] = [];
  if (env.REDIS_SENTINELS && env.REDIS_CLUSTER_NODES) {
    issues.push('REDIS_CLUSTER_NODES: set either REDIS_SENTINELS or REDIS_CLUSTER_NODES, not both');
  }
  if (env.REDIS_SENTINELS && !env.REDIS_SENTINEL_NAME) {
    issues.push('REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the monitored primary)');
  }
  if (!env.REDIS_SENTINELS && env.REDIS_SENTINEL_NAME) {
    issues.push('REDIS_SENTINELS: required with REDIS_SENTINEL_NAME');
  }
  return issues;
}

/** What is wrong with the TLS settings: a certificate needs its key, and a key its certificate. */
function tlsIssues(env: { TLS_CERT_FILE?: string; TLS_KEY_FILE?: string }): string[] {
  if (env.TLS_CERT_FILE !== undefined && env.TLS_KEY_FILE === undefined) {
    return ['TLS_KEY_FILE: required with TLS_CERT_FILE (set both to serve HTTPS, or neither)'];
  }
  if (env.TLS_KEY_FILE !== undefined && env.TLS_CERT_FILE === undefined) {
    return ['TLS_CERT_FILE: required with TLS_KEY_FILE (set both to serve HTTPS, or neither)'];
  }
  return [];
}

/** A file path; an empty value means unset. */
const filePath = () =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.string().trim().optional(),
  );

/** Settings every app shares. Apps extend this with their own. */
export const baseEnv = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * One Redis node (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS); in the
   * Sentinel and Cluster modes below only its user, password, TLS and database are used.
   */
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /** Sentinel mode: the sentinels (`host:port,host:port,…`), with REDIS_SENTINEL_NAME. */
  REDIS_SENTINELS: hostPortList().optional(),
  /** The name of the primary the sentinels watch (`SENTINEL MONITOR <name> …`). */
  REDIS_SENTINEL_NAME: z.string().trim().min(1).optional(),
  /** The sentinels' own password (`requirepass` of the sentinels), when they have one. */
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  /** Cluster mode: some of the cluster's nodes (`host:port,…`); the rest are discovered. */
  REDIS_CLUSTER_NODES: hostPortList().optional(),
  /** The ACL user and password, over REDIS_URL's (any mode). */
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  /** Prefix of every BullMQ queue and pub/sub channel: tests give each file its own. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only')
    .default('cap'),
  /**
   * After a stop signal: how long the app keeps serving with `/readyz` at 503 before it closes,
   * so that load balancers notice (default 5 s in production, none elsewhere).
   */
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).max(120_000).optional(),
  /** After the drain: how long in-flight work may take before the process exits anyway. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  TRUST_PROXY: trustProxyEnv(),
  /**
   * HTTPS: the PEM certificate chain (leaf first) and its private key. Both or neither: with
   * both the app serves HTTPS only on PORT (a plain-HTTP request there is not answered).
   */
  TLS_CERT_FILE: filePath(),
  TLS_KEY_FILE: filePath(),
});

/**
 * Settings of the apps browsers and clients reach (gateway, auth-server, console): spread into
 * their `baseEnv.extend`. `Strict-Transport-Security: max-age=HSTS_MAX_AGE_S; includeSubDomains`
 * on every answer to a request that came over HTTPS (directly, or through a trusted proxy that
 * says `X-Forwarded-Proto: https`); 0 tells browsers to forget an earlier one.
 */
export const publicHttpEnv = {
  HSTS_MAX_AGE_S: z.coerce.number().int().min(0).max(63_072_000).default(31_536_000),
};

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid environment:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses `env` (by default `process.env`) once into a typed, frozen object. Throws a
 * `ConfigError` listing every problem; `main.ts` turns that into a clean exit.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): Readonly<z.infer<S>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`),
    );
  }
  const data = parsed.data as Partial<RedisEnv> & { TLS_CERT_FILE?: string; TLS_KEY_FILE?: string };
  const issues = [...redisModeIssues(data), ...tlsIssues(data)];
  if (issues.length > 0) throw new ConfigError(issues);
  return Object.freeze(parsed.data);
}

/**
 * `read()` for a process entry point: a `ConfigError` it throws is printed as `<app>: …` and
 * the process exits 1; anything else is rethrown.
 */
export function orExitOnConfigError<T>(app: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${app}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** Runs `loadConfig` for a process entry point: prints the problems and exits 1 on failure. */
export function loadConfigOrExit<S extends z.ZodType>(
  schema: S,
  app: string,
): Readonly<z.infer<S>> {
  return orExitOnConfigError(app, () => loadConfig(schema));
}

/** Integer env values such as ports, with a default. */
export const port = (fallback: number) =>
  // An empty value means "unset", never port 0.
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce.number().int().min(0).max(65535).default(fallback),
  );

/** A `postgres://` (or `postgresql://`) connection URL. */
export const postgresUrl = () =>
  z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL');

/** The database settings of an app that keeps tables: spread into its `baseEnv.extend`. */
export const databaseEnv = {
  DATABASE_URL: postgresUrl(),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
};
