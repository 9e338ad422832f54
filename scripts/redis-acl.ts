/**
 * The platform's Redis users (libs/queue/src/redis-acl.ts), one per service, for a queue prefix:
 *
 *   REDIS_PASSWORD_API_GATEWAY=… REDIS_PASSWORD_AUTH_SERVER=… REDIS_PASSWORD_PROJECTS_SERVICE=… \
 *   REDIS_PASSWORD_USAGE_WORKER=… REDIS_PASSWORD_ADMIN=… [REDIS_PASSWORD_CONSOLE=…] \
 *     node -r @swc-node/register scripts/redis-acl.ts [--prefix cap] [--format file|commands]
 *     [--out FILE] [--apply]
 *
 * Built (`npm run build`; the migrate image): node dist/apps/migrate/scripts/redis-acl.js ….
 *
 * The console's user (its session keys only) is written when REDIS_PASSWORD_CONSOLE is set.
 * `--format file` (the default) prints an ACL file for `redis-server --aclfile` (the default user
 * off, a `healthcheck` user that may only PING); `commands` prints `ACL SETUSER` lines for
 * `redis-cli`. `--apply` runs them against the Redis at REDIS_ACL_ADMIN_URL (a user allowed
 * ACL SETUSER; the k8s Job `cap-redis-acl`).
 * Passwords are written as SHA-256 hashes (`#…`): the output holds no secret.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import {
  aclFileLine,
  aclSetUserArgs,
  OPTIONAL_REDIS_SERVICES,
  REDIS_SERVICES,
  redisPasswordEnv,
  redisUserName,
} from '../libs/queue/src/redis-acl';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      prefix: { type: 'string', default: process.env.QUEUE_PREFIX ?? 'cap' },
      'user-prefix': { type: 'string', default: 'cap-' },
      format: { type: 'string', default: 'file' },
      out: { type: 'string' },
      apply: { type: 'boolean' },
    },
  });
  const optional = (s: (typeof REDIS_SERVICES)[number]) => OPTIONAL_REDIS_SERVICES.includes(s);
  const missing = REDIS_SERVICES.filter((s) => !optional(s))
    .map(redisPasswordEnv)
    .filter((n) => !process.env[n]);
  if (missing.length > 0) {
    process.stderr.write(`redis-acl: set ${missing.join(', ')} (one password per service)\n`);
    return 1;
  }
  const deployed = REDIS_SERVICES.filter((s) => !optional(s) || process.env[redisPasswordEnv(s)]);
  const users = deployed.map((service) => ({
    service,
    name: redisUserName(service, values['user-prefix']),
    password: process.env[redisPasswordEnv(service)]!,
  }));
  const prefix = values.prefix;
  if (values.apply) {
    const url = process.env.REDIS_ACL_ADMIN_URL;
    if (!url) {
      process.stderr.write('redis-acl: --apply needs REDIS_ACL_ADMIN_URL\n');
      return 1;
    }
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      for (const u of users) {
        await redis.call(
          'ACL',
          'SETUSER',
          ...aclSetUserArgs(u.name, u.password, u.service, prefix),
        );
      }
    } finally {
      redis.disconnect();
    }
    process.stderr.write(`redis-acl: ${users.length} users set for prefix ${prefix}\n`);
    return 0;
  }
  const lines =
    values.format === 'commands'
      ? users.map(
          (u) => `ACL SETUSER ${aclSetUserArgs(u.name, u.password, u.service, prefix).join(' ')}`,
        )
      : [
          'user default off',
          'user healthcheck on nopass -@all +ping',
          ...users.map((u) => aclFileLine(u.name, u.password, u.service, prefix)),
        ];
  const text = `${lines.join('\n')}\n`;
  if (values.out) writeFileSync(values.out, text, { mode: 0o644 });
  else process.stdout.write(text);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`redis-acl: ${String(err)}\n`);
    process.exit(1);
  },
);
