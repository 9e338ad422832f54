import { parseArgs } from 'node:util';
import {
  DomainError,
  IdentityAdminJobs,
  IdentityPublicJobs,
  ProjectsAdminJobs,
  ProjectsPublicJobs,
  QUEUES,
} from '@cap/contracts';
import { loadConfigOrExit } from '@cap/config';
import { RpcClient, redisTarget } from '@cap/queue';
import { COMMANDS, isCommand } from './commands';
import { adminEnv } from './config';
import { readSecret } from './read-secret';

const USAGE = `usage: npm run admin -- <command> [flags]

  create-user    --email E [--name N]         (password on standard input; email verified)
  create-project --owner EMAIL --name N --region R
  create-key     --project PRJ_ID --name N   (prints the secret once)
  add-member     --project PRJ_ID --email E --role owner|admin|developer|viewer
                 (adds an existing user directly; members invite instead)
  verification-link --email E                (the link that verifies E, as mailed at sign-up)
  revoke-key     --key KEY_ID
  set-project-limit --project PRJ_ID --limit N  (requests per minute; caps its keys' limits)
  create-client  --owner EMAIL --name N --redirect-uri URI [--redirect-uri URI2 ...] [--public]
                 [--first-party]
                 (an OAuth app; prints its client_secret once unless --public; --first-party
                 for the operator's own console: keys made there outlive its sign-in)

Prints JSON on standard output; errors as {"error": {...}} on standard error, exit 1.`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    strict: true,
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      owner: { type: 'string' },
      region: { type: 'string' },
      project: { type: 'string' },
      key: { type: 'string' },
      limit: { type: 'string' },
      role: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      public: { type: 'boolean' },
      'first-party': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !isCommand(command)) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const config = loadConfigOrExit(adminEnv, 'admin');
  const common = {
    prefix: config.QUEUE_PREFIX,
    redisUrl: redisTarget(config),
    timeoutMs: config.ADMIN_TIMEOUT_MS,
  };
  const clients = {
    identity: new RpcClient<IdentityPublicJobs>({ queue: QUEUES.identity, ...common }),
    projects: new RpcClient<ProjectsPublicJobs>({ queue: QUEUES.projects, ...common }),
    adminIdentity: new RpcClient<IdentityAdminJobs>({ queue: QUEUES.adminIdentity, ...common }),
    adminProjects: new RpcClient<ProjectsAdminJobs>({ queue: QUEUES.adminProjects, ...common }),
  };
  const all = Object.values(clients);
  try {
    await Promise.all(all.map((c) => c.ready()));
    const { help: _help, ...flags } = values;
    const result = await COMMANDS[command](clients, flags, () => readSecret('Password: '), config);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (err) {
    const shape =
      err instanceof DomainError
        ? err.code === 'upstream_timeout'
          ? { code: err.code, message: 'No service answered. Is the platform running (npm start)?' }
          : err.toShape()
        : { code: 'internal_error', message: String(err) };
    process.stderr.write(`${JSON.stringify({ error: shape })}\n`);
    return 1;
  } finally {
    await Promise.all(all.map((c) => c.close()));
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `${JSON.stringify({ error: { code: 'invalid_request', message: String(err) } })}\n`,
    );
    process.exit(2);
  },
);
