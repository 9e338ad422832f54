import { createHash } from 'node:crypto';
import { CHANNELS, QUEUES } from '@cap/contracts';
import { bullQueueName } from './redis';

/**
 * The Redis users of the platform, one per service, each allowed only the keys and channels it
 * needs under the queue prefix. The one place they are written: `scripts/redis-acl.ts` prints
 * them as an ACL file (Compose, k8s) or as `ACL SETUSER` commands, and the tests create them.
 *
 * What BullMQ needs, measured against Redis 7: a queue `Q` lives in keys `<prefix>:{Q}:*` only
 * (jobs, wait/active/… lists and sets, the `events` stream, `meta`, `marker`, locks); it runs Lua
 * through EVALSHA (EVAL when the script is not loaded yet), reads INFO (version, eviction
 * policy) and names its connections (CLIENT SETNAME). Commands inside a script are checked
 * against the same key patterns. Request/reply calls travel on `<prefix>:{Q}:requests` streams
 * (a consumer group per queue) and their answers on `<prefix>:rpc-replies:{<id>}` streams
 * (`rpc-replies.ts`), BullMQ carrying only usage batches; events on `<prefix>:events:*`
 * channels (`EventBus`).
 */
export type RedisService =
  'api-gateway' | 'auth-server' | 'projects-service' | 'usage-worker' | 'admin' | 'console';

export const REDIS_SERVICES: readonly RedisService[] = [
  'api-gateway',
  'auth-server',
  'projects-service',
  'usage-worker',
  'admin',
  'console',
];

/**
 * Services a deployment may leave out (the console is a web front-end some installations do not
 * run): `scripts/redis-acl.ts` writes their user only when their password is set.
 */
export const OPTIONAL_REDIS_SERVICES: readonly RedisService[] = ['console'];

/**
 * Commands every service may run: data commands and scripts, pub/sub, transactions, its own
 * connection; nothing that reaches beyond its keys (KEYS, FLUSHALL, CONFIG, DEBUG, MONITOR,
 * other clients, script/function management, ACL changes are all `@dangerous` or removed).
 */
const COMMANDS = [
  '-@all',
  '+@read',
  '+@write',
  '+@scripting',
  '+@pubsub',
  // Publishing is granted per channel, to the channel's owner only (`CHANNELS_OF`).
  '-publish',
  '-spublish',
  '+@transaction',
  '+@connection',
  '-@dangerous',
  '-script|flush',
  '-script|kill',
  '-function',
  '+info',
  '+time',
  '+client|setname',
  '+client|getname',
  '+client|id',
  // A Cluster client learns the slot layout and checks the cluster's state (READONLY, ASKING
  // are @connection).
  '+cluster|slots',
  '+cluster|shards',
  '+cluster|info',
];

/**
 * The channels each service publishes and subscribes to. Redis checks one channel list for both
 * (`&…`), so publishing is a selector of its own, `(+publish &<channel>…)`, and the user's own
 * rules allow SUBSCRIBE only: a gateway (or anyone but a channel's owner) cannot forge a
 * revocation event that every gateway would act on.
 */
const CHANNELS_OF: Record<RedisService, { publish: string[]; subscribe: string[] }> = {
  // Drops revoked keys and tokens from its caches.
  'api-gateway': { publish: [], subscribe: [CHANNELS.keyRevoked, CHANNELS.tokenRevoked] },
  // Revokes tokens (and their grants); rotates and reloads its signing keys.
  'auth-server': {
    publish: [CHANNELS.tokenRevoked, CHANNELS.signingKeysChanged],
    subscribe: [CHANNELS.signingKeysChanged],
  },
  // Revokes keys; revokes the keys made with a revoked grant.
  'projects-service': { publish: [CHANNELS.keyRevoked], subscribe: [CHANNELS.tokenRevoked] },
  'usage-worker': { publish: [], subscribe: [] },
  // The operator's CLI acts through the services' queues, which publish.
  admin: { publish: [], subscribe: [] },
  // A client of /v1 like any app: no events.
  console: { publish: [], subscribe: [] },
};

interface Access {
  /** Key patterns read and written. */
  keys: string[];
  /** Key patterns only read (`%R~`). */
  readKeys?: string[];
}

/** The queues each service adds jobs to or serves (the admin queues: the operator only). */
const QUEUES_OF: Record<RedisService, string[]> = {
  'api-gateway': [QUEUES.projects, QUEUES.identity, QUEUES.usage, QUEUES.usageQueries],
  'auth-server': [QUEUES.identity, QUEUES.adminIdentity],
  'projects-service': [QUEUES.projects, QUEUES.adminProjects],
  'usage-worker': [QUEUES.usage, QUEUES.usageQueries],
  admin: [QUEUES.projects, QUEUES.identity, QUEUES.adminProjects, QUEUES.adminIdentity],
  // The console talks HTTP to the gateway and the auth-server, never to a queue.
  console: [],
};

/** Each service's own keys, besides its queues and the reply streams (suffixes of `<prefix>:`). */
const OWN_KEYS: Record<RedisService, Access> = {
  // Rate-limit windows, idempotency records, failed-authentication counts; it only checks
  // revocation marks.
  'api-gateway': { keys: ['rl:*', 'idem:*', 'auth-failures:*'], readKeys: ['revoked:*'] },
  // oidc-provider's artifacts, sign-in/sign-up/token budgets, revocation marks it writes.
  'auth-server': { keys: ['oidc:*', 'signin:*', 'signup:*', 'token-rl:*', 'revoked:*'] },
  'projects-service': { keys: [] },
  'usage-worker': { keys: [] },
  admin: { keys: [] },
  // Its sessions, pending sign-ins and failed-request lists (apps/console/src/session.store.ts).
  console: { keys: ['console:*'] },
};

/** The rules (after `ACL SETUSER <name>`) of `service` under `prefix`, without its password. */
export function redisAclRules(service: RedisService, prefix: string): string[] {
  const own = OWN_KEYS[service];
  const keys = [
    // BullMQ's name of a queue is hash-tagged (`{projects}`): one Cluster slot per queue.
    ...QUEUES_OF[service].map((q) => `${bullQueueName(q)}:*`),
    // Every request/reply client reads its own stream; every server appends to its callers'.
    ...(QUEUES_OF[service].length > 0 ? ['rpc-replies:*'] : []),
    ...own.keys,
  ];
  return [
    'reset',
    ...keys.map((k) => `~${prefix}:${k}`),
    ...(own.readKeys ?? []).map((k) => `%R~${prefix}:${k}`),
    'resetchannels',
    ...CHANNELS_OF[service].subscribe.map((c) => `&${prefix}:${c}`),
    ...COMMANDS,
    ...publishSelector(service, prefix),
  ];
}

/** The selector that lets `service` publish on its own channels (none when it owns none). */
function publishSelector(service: RedisService, prefix: string): string[] {
  const channels = CHANNELS_OF[service].publish;
  if (channels.length === 0) return [];
  return [`(+publish ${channels.map((c) => `&${prefix}:${c}`).join(' ')})`];
}

/** The user name of `service`: `<userPrefix><service>` (`cap-api-gateway`, …). */
export function redisUserName(service: RedisService, userPrefix = 'cap-'): string {
  return `${userPrefix}${service}`;
}

/** The environment variable that holds `service`'s Redis password (`REDIS_PASSWORD_API_GATEWAY`). */
export function redisPasswordEnv(service: RedisService): string {
  return `REDIS_PASSWORD_${service.replace(/-/g, '_').toUpperCase()}`;
}

/** `ACL SETUSER` arguments that (re)create `user` for `service`, its password given hashed. */
export function aclSetUserArgs(
  user: string,
  password: string,
  service: RedisService,
  prefix: string,
): string[] {
  const [reset, ...rules] = redisAclRules(service, prefix);
  return [user, reset, 'on', aclPasswordHash(password), ...rules];
}

/** `password` as an ACL file holds it (`#<sha256 hex>`): the file then holds no secret. */
export function aclPasswordHash(password: string): string {
  return `#${createHash('sha256').update(password).digest('hex')}`;
}

/** One line of an ACL file (`user <name> on #<hash> <rules…>`). */
export function aclFileLine(user: string, password: string, service: RedisService, prefix: string) {
  const rules = redisAclRules(service, prefix).filter((r) => r !== 'reset');
  return ['user', user, 'on', aclPasswordHash(password), ...rules].join(' ');
}
