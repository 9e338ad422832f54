/**
 * The production packaging, checked where no Docker engine or cluster exists: docker-compose.yml
 * parsed, the Dockerfile read (and its HEALTHCHECK run), both k8s overlays rendered with
 * `kubectl kustomize`, and the packages the images' code imports checked against what
 * `npm ci --omit=dev` installs. The images run the compiled apps (`node dist/apps/<app>/main.js`,
 * scripts/build.ts; scripts/build.e2e-spec.ts starts them): nothing in these files may compile
 * TypeScript at start. Each check lists every violation it finds.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import * as ts from 'typescript';
import { parseAllDocuments, parseDocument } from 'yaml';

const ROOT = resolve(__dirname, '..');
const APPS = ['api-gateway', 'auth-server', 'projects-service', 'usage-worker', 'console'] as const;
type App = (typeof APPS)[number];
/** The apps reached from outside (browsers, API clients); the other two stay internal. */
const PUBLIC_APPS: readonly App[] = ['api-gateway', 'auth-server', 'console'];
/** Apps that run two or more replicas and so get a PodDisruptionBudget. */
const REPLICATED_APPS: readonly App[] = [
  'api-gateway',
  'auth-server',
  'projects-service',
  'console',
];
/** What each image runs: the compiled app (scripts/build.ts), by node alone. */
const APP_CMD = (app: App) => ['node', `dist/apps/${app}/main.js`];
const MIGRATE_CMD = ['node', 'dist/apps/migrate/scripts/migrate.js'];
const REDIS_ACL_CMD = ['node', 'dist/apps/migrate/scripts/redis-acl.js'];
/** Stopping in production (libs/observability/src/run-app.ts): drain 5 s, then a 10 s grace. */
const DEFAULT_DRAIN_MS = 5_000;
const DEFAULT_GRACE_MS = 10_000;
/**
 * Text that belongs to compiling TypeScript at start, in no deployment file any more: SWC, its
 * register hook and addon-cache switch, `npm run migrate` (TypeScript), an exec /tmp.
 */
const RUNTIME_COMPILER =
  /@swc|swc-node|SWC_|\bswc\b|npm run migrate|\[npm, run, migrate\]|:exec\b|,exec\b/i;
/** Each app connects to Redis as its own ACL user (libs/queue/src/redis-acl.ts). */
const REDIS_URL_KEY = (app: App) => `REDIS_URL_${app.replace(/-/g, '_').toUpperCase()}`;
const REDIS_PASSWORD_KEYS = [...APPS, 'admin'].map(
  (s) => `REDIS_PASSWORD_${s.replace(/-/g, '_').toUpperCase()}`,
);
const SECRET_KEYS = [
  'DATABASE_URL',
  ...APPS.map(REDIS_URL_KEY),
  ...REDIS_PASSWORD_KEYS,
  'REDIS_ACL_ADMIN_URL',
  'COOKIE_SECRETS',
  'KEY_ENCRYPTION_SECRET',
  'EMAIL_VERIFICATION_SECRET',
  'REQUEST_ID_SECRET',
];

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Each app's default PORT, from `PORT: port(<default>)` in its config.ts. */
const PORTS = Object.fromEntries(
  APPS.map((app) => {
    const match = /\bPORT:\s*port\((\d+)\)/.exec(read(`apps/${app}/src/config.ts`));
    if (!match) throw new Error(`apps/${app}/src/config.ts: no "PORT: port(<default>)" found`);
    return [app, Number(match[1])];
  }),
) as Record<App, number>;

// ---------------------------------------------------------------------------------------------
// Walking parsed YAML (plain JSON values) without `any`.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
/** The value at a path of keys and indexes, or undefined. */
function at(v: unknown, ...path: (string | number)[]): unknown {
  let cur = v;
  for (const key of path) {
    if (typeof key === 'number') cur = Array.isArray(cur) ? cur[key] : undefined;
    else cur = isObj(cur) ? cur[key] : undefined;
  }
  return cur;
}

function parseYaml(text: string, what: string): unknown {
  const doc = parseDocument(text, { merge: true });
  if (doc.errors.length > 0) {
    throw new Error(`${what} is not valid YAML:\n${doc.errors.map(String).join('\n')}`);
  }
  return doc.toJSON() as unknown;
}

// ---------------------------------------------------------------------------------------------
// Dockerfile: instructions grouped by stage; a target's setting is the last one on its FROM chain.

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  name?: string;
  from: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && pending === '')) continue;
    if (trimmed.endsWith('\\')) {
      pending += trimmed.slice(0, -1) + ' ';
      continue;
    }
    const whole = (pending + trimmed).trim();
    pending = '';
    if (whole === '') continue;
    const [keyword, ...rest] = whole.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(' ') });
  }
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const [from, as, name] = ins.args.split(/\s+/);
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0 && ins.keyword === 'ARG') {
      const [key, value = ''] = ins.args.split('=');
      args[key] = value;
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return { args, stages };
}

/** The stages from the base image down to `target`. */
function stageChain(stages: Stage[], target: string): Stage[] {
  const chain: Stage[] = [];
  let stage = stages.find((s) => s.name === target);
  while (stage) {
    chain.unshift(stage);
    const from = stage.from;
    stage = stages.find((s) => s.name === from);
  }
  return chain;
}

/** The last argument of `keyword` in the chain (what the image ends up with), or undefined. */
const lastOf = (chain: Stage[], keyword: string): string | undefined =>
  chain
    .flatMap((s) => s.instructions)
    .filter((i) => i.keyword === keyword)
    .map((i) => i.args)
    .pop();

function envOf(chain: Stage[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of chain.flatMap((s) => s.instructions.filter((i) => i.keyword === 'ENV'))) {
    for (const pair of args.args.split(/\s+/)) {
      const [key, ...value] = pair.split('=');
      if (value.length > 0) env[key] = value.join('=');
    }
  }
  return env;
}

/** An exec-form (JSON array) argument, or undefined when it is shell form or bad JSON. */
function execForm(args: string | undefined): string[] | undefined {
  if (!args?.trim().startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------

describe('default ports', () => {
  it('are 8080 to 8084, as the apps config.ts files say', () => {
    expect(PORTS).toEqual({
      'api-gateway': 8080,
      'auth-server': 8081,
      'projects-service': 8082,
      'usage-worker': 8083,
      console: 8084,
    });
  });
});

describe('docker-compose.yml', () => {
  const text = read('docker-compose.yml');
  const compose = parseYaml(text, 'docker-compose.yml');
  const services = obj(at(compose, 'services'));
  const service = (name: string) => obj(services[name]);
  const commandLine = (v: unknown) => (Array.isArray(v) ? v.map(String).join(' ') : (str(v) ?? ''));

  it('has Postgres, Redis, the migration and the five apps (the console too)', () => {
    const missing = ['postgres', 'redis', 'migrate', ...APPS].filter((s) => !isObj(services[s]));
    expect(missing).toEqual([]);
  });

  it('runs Postgres 16 and Redis 7 with healthchecks and named volumes', () => {
    const problems: string[] = [];
    const volumes = obj(at(compose, 'volumes'));
    for (const [name, image] of [
      ['postgres', /^postgres:16([.-]|$)/],
      ['redis', /^redis:7([.-]|$)/],
    ] as const) {
      const s = service(name);
      if (!image.test(str(s.image) ?? '')) problems.push(`${name}: image ${str(s.image)}`);
      if (arr(at(s, 'healthcheck', 'test')).length === 0 && !str(at(s, 'healthcheck', 'test'))) {
        problems.push(`${name}: no healthcheck`);
      }
      const named = arr(s.volumes)
        .map((v) => (str(v) ?? str(at(v, 'source')) ?? '').split(':')[0])
        .filter((source) => source in volumes);
      if (named.length === 0) problems.push(`${name}: no named volume for its data`);
    }
    expect(problems).toEqual([]);
  });

  it('runs Redis with maxmemory-policy noeviction (BullMQ) and an append-only file', () => {
    const command = commandLine(service('redis').command);
    expect(command).toMatch(/--maxmemory-policy\s+noeviction\b/);
    expect(command).toMatch(/--appendonly\s+yes\b/);
  });

  it('migrates in a one-shot service that runs the built migrate tool', () => {
    const migrate = service('migrate');
    expect(commandLine(migrate.command)).toBe(MIGRATE_CMD.join(' '));
    expect(at(migrate, 'build', 'target')).toBe('migrate');
    expect(['no', undefined]).toContain(migrate.restart);
    expect(at(migrate, 'depends_on', 'postgres', 'condition')).toBe('service_healthy');
  });

  it('starts each app after the migration completed and Postgres and Redis are healthy', () => {
    const problems: string[] = [];
    for (const app of APPS) {
      const dependsOn = obj(service(app).depends_on);
      const expected = {
        migrate: 'service_completed_successfully',
        postgres: 'service_healthy',
        redis: 'service_healthy',
      };
      for (const [dependency, condition] of Object.entries(expected)) {
        const actual = at(dependsOn, dependency, 'condition');
        if (actual !== condition) {
          problems.push(`${app}: depends_on.${dependency}.condition is ${String(actual)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('checks each app on its own port, builds it from its Dockerfile target', () => {
    const problems: string[] = [];
    for (const app of APPS) {
      const s = service(app);
      const test = commandLine(at(s, 'healthcheck', 'test'));
      if (!new RegExp(`:${PORTS[app]}/(healthz|readyz)\\b`).test(test)) {
        problems.push(`${app}: healthcheck "${test}" does not ask :${PORTS[app]}/healthz`);
      }
      const port = str(at(s, 'environment', 'PORT'));
      if (port !== undefined && port !== String(PORTS[app])) {
        problems.push(`${app}: PORT=${port}, its default is ${PORTS[app]}`);
      }
      if (at(s, 'build', 'target') !== app) problems.push(`${app}: build.target is not ${app}`);
    }
    expect(problems).toEqual([]);
  });

  it('publishes 8080, 8081 and 8084 only: projects-service and usage-worker stay internal', () => {
    const published = (name: string) =>
      arr(service(name).ports).map((p) =>
        isObj(p)
          ? `${str(p.published)}:${str(p.target)}`
          : (str(p) ?? '').split(':').slice(-2).join(':'),
      );
    const problems: string[] = [];
    for (const app of APPS) {
      const ports = published(app);
      const expected = PUBLIC_APPS.includes(app) ? [`${PORTS[app]}:${PORTS[app]}`] : [];
      if (JSON.stringify(ports) !== JSON.stringify(expected)) {
        problems.push(`${app}: publishes [${ports.join(', ')}], expected [${expected.join(', ')}]`);
      }
    }
    for (const name of ['postgres', 'redis', 'migrate']) {
      if (published(name).length > 0) problems.push(`${name}: must not publish a port`);
    }
    expect(problems).toEqual([]);
  });

  it('compiles nothing at start: no SWC, no TypeScript, no exec /tmp, in no service', () => {
    const problems: string[] = [];
    text.split('\n').forEach((line, i) => {
      if (RUNTIME_COMPILER.test(line)) problems.push(`line ${i + 1}: ${line.trim()}`);
    });
    for (const [name, s] of Object.entries(services)) {
      for (const tmpfs of arr(obj(s).tmpfs).map((t) => str(t) ?? '')) {
        const options = tmpfs.split(':')[1]?.split(',') ?? [];
        if (!options.includes('noexec')) problems.push(`${name}: tmpfs ${tmpfs} is not noexec`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('gives each app the time to drain and finish (stop_grace_period)', () => {
    const problems: string[] = [];
    const seconds = (v: string | undefined) => {
      const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(v ?? '');
      return m && v ? Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0) : 10;
    };
    for (const app of APPS) {
      const environment = obj(at(service(app), 'environment'));
      const drain = Number(str(environment.SHUTDOWN_DRAIN_MS) ?? DEFAULT_DRAIN_MS) / 1000;
      const grace = Number(str(environment.SHUTDOWN_GRACE_MS) ?? DEFAULT_GRACE_MS) / 1000;
      const period = seconds(str(service(app).stop_grace_period));
      if (period < drain + grace) {
        problems.push(
          `${app}: stop_grace_period ${period} s < drain ${drain} s + grace ${grace} s`,
        );
      }
    }
    expect(problems).toEqual([]);
  });

  it('restarts the apps and limits their resources', () => {
    const problems: string[] = [];
    for (const app of APPS) {
      const s = service(app);
      if (!['always', 'unless-stopped', 'on-failure'].includes(str(s.restart) ?? '')) {
        problems.push(`${app}: restart is ${str(s.restart)}`);
      }
      for (const limit of ['cpus', 'memory']) {
        if (str(at(s, 'deploy', 'resources', 'limits', limit)) === undefined) {
          problems.push(`${app}: no deploy.resources.limits.${limit}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('holds no secret: each comes from the environment, required (${VAR:?message})', () => {
    const required = /^\$\{[A-Z][A-Z0-9_]*:\?[^}]*\}$/;
    const secretName = /SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|CREDENTIAL|_AUTH$/i;
    const problems: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      const environment = at(s, 'environment');
      const entries: [string, string][] = Array.isArray(environment)
        ? environment.map((e) => String(e).split(/=(.*)/s).slice(0, 2) as [string, string])
        : Object.entries(obj(environment)).map(([k, v]) => [k, str(v) ?? '']);
      for (const [key, value] of entries) {
        if (secretName.test(key) && !required.test(value)) {
          problems.push(`${name}: ${key} must be \${${key}:?message}, not "${value}"`);
        }
        const password = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@]*)@/i.exec(value)?.[1];
        if (password !== undefined && !required.test(password)) {
          problems.push(`${name}: ${key} has a literal password in its URL`);
        }
      }
      const command = arr(at(s, 'command')).map(String);
      command.forEach((arg, i) => {
        if (/^--(requirepass|password)$/.test(arg) && !required.test(command[i + 1] ?? '')) {
          problems.push(`${name}: the value after ${arg} must be \${VAR:?message}`);
        }
      });
    }
    // A default (`${X:-...}`) would be a secret written in the file.
    for (const match of text.matchAll(/\$\{([A-Z0-9_]+)(:?[-=])/g)) {
      if (secretName.test(match[1])) problems.push(`\${${match[1]}${match[2]}…} has a default`);
    }
    expect(problems).toEqual([]);
  });

  describe('security', () => {
    const publishedSpec = (name: string) => arr(service(name).ports).map((p) => str(p) ?? '');

    it('binds the published ports to 127.0.0.1 unless BIND_ADDRESS says otherwise', () => {
      const problems: string[] = [];
      for (const app of PUBLIC_APPS) {
        for (const spec of publishedSpec(app)) {
          if (spec !== `\${BIND_ADDRESS:-127.0.0.1}:${PORTS[app]}:${PORTS[app]}`) {
            problems.push(`${app}: publishes "${spec}"`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    it('requires the issuer explicitly (no localhost default in production)', () => {
      for (const app of ['auth-server', 'console']) {
        expect([app, str(at(service(app), 'environment', 'ISSUER'))]).toEqual([
          app,
          expect.stringMatching(/^\$\{PUBLIC_AUTH_URL:\?[^}]+\}$/),
        ]);
      }
      expect(str(at(service('api-gateway'), 'environment', 'OAUTH_ISSUER'))).toMatch(
        /^\$\{PUBLIC_AUTH_URL:\?[^}]+\}$/,
      );
    });

    it('passes TRUST_PROXY to the public apps and says how to set it behind TLS', () => {
      for (const app of PUBLIC_APPS) {
        expect([app, str(at(service(app), 'environment', 'TRUST_PROXY'))]).toEqual([
          app,
          '${TRUST_PROXY:-false}',
        ]);
      }
      expect(text).toMatch(/TRUST_PROXY to the number of\s*#?\s*proxies/);
      expect(text).toMatch(/`Secure`/);
    });

    it('runs Redis with the ACL file scripts/redis-acl.ts writes; each app as its own user', () => {
      const redis = service('redis');
      const command = commandLine(redis.command);
      expect(command).toMatch(/--aclfile\s+\/acl\/users\.acl\b/);
      expect(command).not.toMatch(/--requirepass/);
      expect(at(redis, 'depends_on', 'redis-acl', 'condition')).toBe(
        'service_completed_successfully',
      );
      const acl = service('redis-acl');
      expect(commandLine(acl.command)).toBe(`${REDIS_ACL_CMD.join(' ')} --out /acl/users.acl`);
      const users = APPS.map((app) => {
        const url = str(at(service(app), 'environment', 'REDIS_URL')) ?? '';
        return /^redis:\/\/([^:]+):/.exec(url)?.[1];
      });
      expect(users).toEqual(APPS.map((app) => `cap-${app}`));
      for (const key of REDIS_PASSWORD_KEYS) {
        expect([key, str(at(acl, 'environment', key))]).toEqual([
          key,
          expect.stringMatching(new RegExp(`^\\$\\{${key}:\\?`)),
        ]);
      }
    });

    it('the ACL file: default user off, passwords hashed, the gateway off the admin queues', () => {
      const env = Object.fromEntries(REDIS_PASSWORD_KEYS.map((k, i) => [k, `password-${i}`]));
      const run = spawnSync(
        process.execPath,
        ['-r', '@swc-node/register', 'scripts/redis-acl.ts', '--prefix', 'cap'],
        { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' },
      );
      expect(run.status).toBe(0);
      const lines = run.stdout.trim().split('\n');
      expect(lines[0]).toBe('user default off');
      expect(run.stdout).not.toMatch(/password-\d/);
      const gateway = lines.find((l) => l.startsWith('user cap-api-gateway '))!;
      expect(gateway).toContain('~cap:{projects}:*');
      // Gateways only listen: no channel to publish on, no channel pattern.
      expect(gateway).not.toMatch(/\(\+publish|&[^ ]*\*/);
      expect(gateway).not.toMatch(/admin-(projects|identity)/);
      expect(gateway).not.toMatch(/~\*|allkeys|\+@all/);
      const admin = lines.find((l) => l.startsWith('user cap-admin '))!;
      expect(admin).toContain('~cap:{admin-projects}:*');
      // Without every password it writes nothing.
      const partial = spawnSync(
        process.execPath,
        ['-r', '@swc-node/register', 'scripts/redis-acl.ts'],
        { cwd: ROOT, env: { ...process.env, REDIS_PASSWORD_ADMIN: 'x' }, encoding: 'utf8' },
      );
      expect(partial.status).toBe(1);
      expect(partial.stdout).toBe('');
    });
  });
});

describe('Dockerfile', () => {
  const { args, stages } = parseDockerfile(read('Dockerfile'));
  const targets = [...APPS, 'migrate'];
  const stage = (name: string) => stages.find((s) => s.name === name);
  /** The stage a `COPY --from=<stage> <src> …` copies from, and its source path. */
  const copyFrom = (i: Instruction) => {
    const m = /^--from=(\S+)\s+(?:--\S+\s+)*(\S+)/.exec(i.args);
    return m ? { from: m[1], src: m[2] } : undefined;
  };
  const runsOf = (name: string) =>
    (stage(name)?.instructions ?? []).filter((i) => i.keyword === 'RUN').map((i) => i.args);

  it('has a target per app (the console too) and one for the migration, on node:22-bookworm-slim', () => {
    const problems: string[] = [];
    for (const target of targets) {
      const chain = stageChain(stages, target);
      if (chain.length === 0) {
        problems.push(`no stage "${target}" (docker build --target ${target})`);
        continue;
      }
      const base = chain[0].from.replace(/^\$\{?(\w+)\}?$/, (_, name: string) => args[name] ?? '');
      if (base !== 'node:22-bookworm-slim') problems.push(`${target}: based on ${base}`);
    }
    // Every stage starts from the one ARG, so a digest given there pins them all.
    for (const s of stages.filter((s) => !stages.some((o) => o.name === s.from))) {
      if (!/^\$\{?NODE_IMAGE\}?$/.test(s.from)) problems.push(`${s.name}: FROM ${s.from}`);
    }
    expect(problems).toEqual([]);
    // How to pin it by digest is written beside the ARG.
    expect(read('Dockerfile')).toMatch(/NODE_IMAGE=node:22-bookworm-slim@sha256:/);
  });

  it('builds in a stage of its own: npm ci with dev dependencies, Prisma client, npm run build', () => {
    const build = stage('build');
    expect(build).toBeDefined();
    const runs = runsOf('build');
    const ci = runs.findIndex((r) => /\bnpm ci\b/.test(r) && !/--omit=dev/.test(r));
    const compile = runs.findIndex((r) => /\bnpm run( -s)? build\b/.test(r));
    expect({ ci: ci >= 0, compile: compile > ci }).toEqual({ ci: true, compile: true });
    // `npm run build` generates the Prisma client first (its prebuild), which it compiles in.
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prebuild).toMatch(/prisma:generate/);
    expect(pkg.scripts.build).toMatch(/scripts\/build\.ts/);
  });

  it.each(APPS)('%s: non-root, SIGTERM, HEALTHCHECK, EXPOSE, production, its own code', (app) => {
    const chain = stageChain(stages, app);
    const problems: string[] = [];
    const user = lastOf(chain, 'USER');
    if (!user || /^(root|0)(:|$)/.test(user)) problems.push(`USER is ${user ?? 'unset (root)'}`);
    if (lastOf(chain, 'STOPSIGNAL') !== 'SIGTERM') problems.push('STOPSIGNAL is not SIGTERM');
    const healthcheck = lastOf(chain, 'HEALTHCHECK') ?? 'NONE';
    const probe = execForm(healthcheck.replace(/^(--\S+\s+)*CMD\s+/, ''));
    if (!probe || !probe.join(' ').includes('/healthz')) {
      problems.push(`HEALTHCHECK "${healthcheck}" is not an exec-form check of /healthz`);
    }
    const exposed = chain.flatMap((s) => s.instructions.filter((i) => i.keyword === 'EXPOSE'));
    if (!exposed.some((e) => e.args.split(/\s+/).includes(String(PORTS[app])))) {
      problems.push(`does not EXPOSE ${PORTS[app]}`);
    }
    const env = envOf(chain);
    if (env.NODE_ENV !== 'production') problems.push(`NODE_ENV is ${env.NODE_ENV}`);
    if (env.PORT !== String(PORTS[app])) problems.push(`PORT is ${env.PORT}`);
    const cmd = execForm(lastOf(chain, 'CMD'));
    if (JSON.stringify(cmd) !== JSON.stringify(APP_CMD(app))) {
      problems.push(`CMD is ${lastOf(chain, 'CMD')}, expected ${JSON.stringify(APP_CMD(app))}`);
    }
    const copied = chain.flatMap((s) => s.instructions.filter((i) => i.keyword === 'COPY'));
    for (const other of APPS) {
      const copies = copied.some((c) => c.args.includes(`dist/apps/${other}`));
      if (copies !== (other === app)) {
        problems.push(other === app ? `does not copy dist/apps/${app}` : `copies ${other}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it.each(targets)('%s: production dependencies and build output only, no compiler', (target) => {
    const chain = stageChain(stages, target);
    const problems: string[] = [];
    for (const i of chain.flatMap((s) => s.instructions)) {
      if (RUNTIME_COMPILER.test(i.args)) problems.push(`${i.keyword} ${i.args}`);
      if (i.keyword === 'ENV' && /SWC|TS_NODE|NODE_OPTIONS/.test(i.args)) {
        problems.push(`ENV ${i.args}`);
      }
      if (i.keyword === 'CMD' && /\.ts\b|(^|")-r"|--require|--import|--loader/.test(i.args)) {
        problems.push(`CMD ${i.args}`);
      }
      if (i.keyword !== 'COPY') continue;
      const from = copyFrom(i);
      if (!from) {
        // From the build context: only package.json (for its "type"), never sources.
        if (!/^package\.json\s+\.\/?$/.test(i.args)) problems.push(`COPY ${i.args}`);
      } else if (from.src === '/app/node_modules') {
        const ci = runsOf(from.from).filter((r) => /\bnpm ci\b/.test(r));
        if (ci.length === 0 || ci.some((r) => !/--omit=dev/.test(r))) {
          problems.push(`node_modules from ${from.from}, not an \`npm ci --omit=dev\``);
        }
      } else if (!(from.from === 'build' && /^\/app\/dist\/apps\/[\w-]+$/.test(from.src))) {
        problems.push(`COPY ${i.args}: only dist/apps/<target> comes from the build`);
      }
    }
    if (!chain.some((s) => s.instructions.some((i) => copyFrom(i)?.src === '/app/node_modules'))) {
      problems.push('no node_modules');
    }
    // A RUN after a non-root USER runs as that user: what needs root comes before.
    let user = 'root';
    for (const i of chain.flatMap((s) => s.instructions)) {
      if (i.keyword === 'USER') user = i.args;
      if (i.keyword === 'RUN' && !/^(root|0)(:|$)/.test(user)) {
        problems.push(`RUN ${i.args} after USER ${user}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('migrate: runs the built migrate tool as a non-root user, makes /acl as root first', () => {
    const chain = stageChain(stages, 'migrate');
    expect(execForm(lastOf(chain, 'CMD'))).toEqual(MIGRATE_CMD);
    expect(lastOf(chain, 'USER')).toMatch(/^(?!(root|0)(:|$))/);
    const instructions = chain.flatMap((s) => s.instructions);
    const mkdir = instructions.findIndex(
      (i) => i.keyword === 'RUN' && /mkdir[^&]*\/acl/.test(i.args),
    );
    const firstUser = instructions.findIndex((i) => i.keyword === 'USER');
    expect(mkdir).toBeGreaterThanOrEqual(0);
    expect(firstUser).toBeGreaterThan(mkdir);
    expect(instructions[mkdir].args).toMatch(/chown 1000:1000 \/acl/);
    // The migrations ride along in the built tool's folder (dist/apps/migrate/prisma/migrations).
    const copies = instructions.filter((i) => i.keyword === 'COPY').map((i) => copyFrom(i)?.src);
    expect(copies).toContain('/app/dist/apps/migrate');
  });

  describe('HEALTHCHECK command', () => {
    const healthcheck = lastOf(stageChain(stages, 'api-gateway'), 'HEALTHCHECK') ?? '';
    const probe = execForm(healthcheck.replace(/^(--\S+\s+)*CMD\s+/, '')) ?? [];
    let server: Server;
    let status = 200;
    let port = 0;

    beforeAll(async () => {
      server = createServer((req, res) => {
        res.statusCode = req.url === '/healthz' ? status : 404;
        res.end();
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((done) => server.close(() => done())));

    /** Runs the probe as Docker would (node from PATH), with the app's PORT. */
    const runProbe = (portEnv: number) =>
      new Promise<number | null>((done) => {
        const child = spawn(process.execPath, probe.slice(1), {
          env: { PATH: '', PORT: String(portEnv) },
          stdio: 'ignore',
        });
        child.on('exit', (code) => done(code));
      });

    it('exits 0 when /healthz answers 200 on $PORT, 1 on 503 or when nothing listens', async () => {
      expect(probe[0]).toBe('node');
      status = 200;
      expect(await runProbe(port)).toBe(0);
      status = 503;
      expect(await runProbe(port)).toBe(1);
      const closed = createServer();
      await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
      const closedPort = (closed.address() as AddressInfo).port;
      await new Promise<void>((done) => closed.close(() => done()));
      expect(await runProbe(closedPort)).toBe(1);
    });
  });

  it('.dockerignore keeps dependencies, data, caches and git out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const required = ['node_modules', '.data', '.nx', 'dist', 'coverage', 'bench/results', '.git'];
    expect(required.filter((entry) => !ignored.includes(entry))).toEqual([]);
  });
});

describe('what the images run', () => {
  // The images install dependencies with `npm ci --omit=dev`: everything their code imports
  // must be a production package. Type-only imports are erased by SWC and do not count.
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, Obj> };
  const excludedLibs = read('.dockerignore')
    .split('\n')
    .map((l) => /^libs\/([\w-]+)\/?$/.exec(l.trim())?.[1])
    .filter((l): l is string => l !== undefined);
  const isTest = (f: string) => /\.(spec|int-spec|e2e-spec)\.ts$/.test(f);

  function sources(dir: string): string[] {
    return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !isTest(f) && !f.split('/').includes('generated'))
      .map((f) => join(dir, f));
  }

  function imports(file: string): string[] {
    const source = ts.createSourceFile(file, read(file), ts.ScriptTarget.Latest, true);
    const found: string[] = [];
    const visit = (node: ts.Node) => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        const clause = node.importClause;
        const named = clause?.namedBindings;
        const typeOnly =
          clause?.isTypeOnly === true ||
          (clause !== undefined &&
            !clause.name &&
            named !== undefined &&
            ts.isNamedImports(named) &&
            named.elements.length > 0 &&
            named.elements.every((e) => e.isTypeOnly));
        if (!typeOnly) found.push(node.moduleSpecifier.text);
      } else if (
        ts.isExportDeclaration(node) &&
        !node.isTypeOnly &&
        node.moduleSpecifier &&
        ts.isStringLiteral(node.moduleSpecifier)
      ) {
        found.push(node.moduleSpecifier.text);
      } else if (
        ts.isCallExpression(node) &&
        (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
          (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
        node.arguments.length === 1 &&
        ts.isStringLiteralLike(node.arguments[0])
      ) {
        found.push(node.arguments[0].text);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
  }

  it('imports only packages that `npm ci --omit=dev` installs', () => {
    const libs = readdirSync(join(ROOT, 'libs')).filter((lib) => !excludedLibs.includes(lib));
    const files = [
      ...APPS.flatMap((app) => sources(`apps/${app}/src`)),
      ...libs.flatMap((lib) => sources(`libs/${lib}/src`)),
      'scripts/migrate.ts',
      'scripts/redis-acl.ts',
    ];
    const problems: string[] = [];
    for (const file of files) {
      for (const specifier of imports(file)) {
        if (/^(\.|node:|@cap\/)/.test(specifier) || builtinModules.includes(specifier)) continue;
        const parts = specifier.split('/');
        const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
        const entry = lock.packages[`node_modules/${name}`];
        if (!entry) {
          problems.push(`${file}: ${name} is not in package-lock.json`);
        } else if (entry.dev === true) {
          problems.push(
            `${file}: imports ${name}, a devDependency that the image (npm ci --omit=dev) ` +
              'does not install: move it to "dependencies" in package.json',
          );
        }
      }
    }
    expect([...new Set(problems)]).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes: the overlays rendered as CI/CD would render them.

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const hasKubectl = kubectl.error === undefined && kubectl.status === 0;
if (!hasKubectl) {
  process.stderr.write(
    'deploy-manifests.spec: kubectl is not installed, so the k8s/ checks are SKIPPED ' +
      '(install kubectl to render the overlays with `kubectl kustomize`)\n',
  );
}
const describeK8s = hasKubectl ? describe : describe.skip;

function render(dir: string): Obj[] {
  const result = spawnSync('kubectl', ['kustomize', join(ROOT, dir)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(`kubectl kustomize ${dir} failed:\n${result.stderr || String(result.error)}`);
  }
  return parseAllDocuments(result.stdout).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${dir}: document ${i}: ${String(doc.errors[0])}`);
    return obj(doc.toJSON());
  });
}

const kindOf = (o: Obj) => str(o.kind) ?? '';
const nameOf = (o: Obj) => str(at(o, 'metadata', 'name')) ?? '';
/** Label selector operators (matchExpressions), given the label's value and the listed values. */
const OPERATORS: Record<string, (value: string | undefined, values: string[]) => boolean> = {
  In: (value, values) => value !== undefined && values.includes(value),
  NotIn: (value, values) => value === undefined || !values.includes(value),
  Exists: (value) => value !== undefined,
  DoesNotExist: (value) => value === undefined,
};
/** Whether a label selector (matchLabels and matchExpressions) selects these labels. */
const labelsMatch = (selector: unknown, labels: Obj) =>
  Object.entries(obj(at(selector, 'matchLabels'))).every(([k, v]) => labels[k] === v) &&
  arr(at(selector, 'matchExpressions')).every((e) => {
    const operator = OPERATORS[str(at(e, 'operator')) ?? ''];
    const value = str(labels[str(at(e, 'key')) ?? '']);
    return operator !== undefined && operator(value, arr(at(e, 'values')).map(String));
  });

describe('k8s/', () => {
  it('compiles nothing at start: no SWC, no TypeScript, no exec /tmp, anywhere', () => {
    const files = readdirSync(join(ROOT, 'k8s'), { recursive: true, encoding: 'utf8' }).filter(
      (f) => /\.ya?ml$/.test(f),
    );
    const problems = files.flatMap((f) =>
      read(`k8s/${f}`)
        .split('\n')
        .map((line, i) => ({ line, i }))
        // A TypeScript file may be named in a comment, never run.
        .filter(
          ({ line }) =>
            RUNTIME_COMPILER.test(line) || /\S\.ts\b/.test(line.replace(/(^|\s)#.*$/, '')),
        )
        .map(({ line, i }) => `k8s/${f}:${i + 1}: ${line.trim()}`),
    );
    expect(problems).toEqual([]);
  });
});

describeK8s('k8s/base', () => {
  it('renders and is namespace-agnostic', () => {
    const namespaced = render('k8s/base')
      .filter((o) => at(o, 'metadata', 'namespace') !== undefined)
      .map((o) => `${kindOf(o)}/${nameOf(o)}`);
    expect(namespaced).toEqual([]);
  });
});

describeK8s.each(['dev', 'prod'])('k8s/overlays/%s', (overlay) => {
  let objects: Obj[] = [];
  const all = (kind: string) => objects.filter((o) => kindOf(o) === kind);
  const find = (kind: string, name: string) => all(kind).find((o) => nameOf(o) === name);
  const deployment = (app: App) => obj(find('Deployment', app));
  const podSpec = (app: App) => obj(at(deployment(app), 'spec', 'template', 'spec'));
  const container = (app: App) => {
    const containers = arr(podSpec(app).containers).map(obj);
    return containers.find((c) => c.name === app) ?? containers[0] ?? {};
  };
  /** A probe's or Service's port, named or numbered, as the container's port number. */
  const portNumber = (app: App, port: unknown) =>
    typeof port === 'number'
      ? port
      : Number(
          at(
            arr(container(app).ports).find((p) => at(p, 'name') === port),
            'containerPort',
          ),
        );
  /** A container's environment as the pod gets it: its ConfigMaps, then its own values. */
  const effectiveEnv = (app: App): Record<string, string> => {
    const c = container(app);
    const fromMaps = arr(c.envFrom).map((e) =>
      obj(at(find('ConfigMap', str(at(e, 'configMapRef', 'name')) ?? ''), 'data')),
    );
    const own = arr(c.env)
      .map(obj)
      .filter((e) => e.value !== undefined)
      .map((e) => ({ [str(e.name) ?? '']: e.value }));
    return Object.fromEntries(
      Object.entries(Object.assign({}, ...fromMaps, ...own) as Obj).map(([k, v]) => [
        k,
        str(v) ?? '',
      ]),
    );
  };
  const hpaFor = (app: App) =>
    all('HorizontalPodAutoscaler').find((h) => at(h, 'spec', 'scaleTargetRef', 'name') === app);

  beforeAll(() => {
    objects = render(`k8s/overlays/${overlay}`);
  });

  it('renders every app, a namespace on every object, and no Secret', () => {
    const problems: string[] = [];
    for (const app of APPS) {
      if (!find('Deployment', app)) problems.push(`no Deployment ${app}`);
      if (!find('Service', app)) problems.push(`no Service ${app}`);
    }
    for (const o of objects) {
      if (!at(o, 'metadata', 'namespace')) problems.push(`${kindOf(o)}/${nameOf(o)}: no namespace`);
    }
    for (const secret of all('Secret')) {
      problems.push(`Secret/${nameOf(secret)} is rendered: secrets are created out of band`);
    }
    expect(problems).toEqual([]);
  });

  it.each(APPS)('Deployment %s: probes on its port, resources, non-root, drains', (app) => {
    const problems: string[] = [];
    const c = container(app);
    const pod = podSpec(app);
    const containerPort = portNumber(app, 'http');
    if (containerPort !== PORTS[app]) problems.push(`container port is ${containerPort}`);
    const env = arr(c.env).map(obj);
    const portEnv = env.find((e) => e.name === 'PORT');
    if (portEnv && str(portEnv.value) !== String(PORTS[app])) {
      problems.push(`PORT=${str(portEnv.value)}, its default is ${PORTS[app]}`);
    }
    for (const [probe, path] of [
      ['readinessProbe', '/readyz'],
      ['livenessProbe', '/healthz'],
      ['startupProbe', undefined],
    ] as const) {
      const get = at(c, probe, 'httpGet');
      if (!isObj(get)) {
        problems.push(`no ${probe} (httpGet)`);
        continue;
      }
      if (path && get.path !== path) problems.push(`${probe} asks ${str(get.path)}, not ${path}`);
      const port = portNumber(app, get.port);
      if (port !== PORTS[app]) problems.push(`${probe} asks port ${port}, not ${PORTS[app]}`);
    }
    for (const kind of ['requests', 'limits']) {
      for (const resource of ['cpu', 'memory']) {
        if (str(at(c, 'resources', kind, resource)) === undefined) {
          problems.push(`no resources.${kind}.${resource}`);
        }
      }
    }
    const runAsNonRoot =
      at(c, 'securityContext', 'runAsNonRoot') ?? at(pod, 'securityContext', 'runAsNonRoot');
    const runAsUser =
      at(c, 'securityContext', 'runAsUser') ?? at(pod, 'securityContext', 'runAsUser');
    if (runAsNonRoot !== true) problems.push('runAsNonRoot is not true');
    if (runAsUser === 0) problems.push('runAsUser is 0');
    if (at(c, 'securityContext', 'allowPrivilegeEscalation') !== false) {
      problems.push('allowPrivilegeEscalation is not false');
    }
    if (at(c, 'securityContext', 'readOnlyRootFilesystem') === true) {
      // Nothing is compiled at start, but libraries may want a scratch /tmp: a small emptyDir.
      const mount = arr(c.volumeMounts).find((m) => at(m, 'mountPath') === '/tmp');
      const volume = arr(pod.volumes).find((v) => at(v, 'name') === at(mount, 'name'));
      if (!isObj(at(volume, 'emptyDir'))) {
        problems.push('readOnlyRootFilesystem without an emptyDir on /tmp');
      }
    } else {
      problems.push('readOnlyRootFilesystem is not true');
    }
    // Stopping: the preStop sleep (endpoints removed everywhere), then SIGTERM: the app drains
    // for SHUTDOWN_DRAIN_MS and finishes within SHUTDOWN_GRACE_MS; the pod's grace covers all.
    const appEnv = effectiveEnv(app);
    const drain = Number(appEnv.SHUTDOWN_DRAIN_MS ?? DEFAULT_DRAIN_MS) / 1000;
    const finish = Number(appEnv.SHUTDOWN_GRACE_MS ?? DEFAULT_GRACE_MS) / 1000;
    const preStop = obj(at(c, 'lifecycle', 'preStop'));
    const sleepCommand = arr(at(preStop, 'exec', 'command')).map(String);
    const sleep =
      sleepCommand[0] === 'sleep' && sleepCommand.length === 2
        ? Number(sleepCommand[1])
        : Number(at(preStop, 'sleep', 'seconds') ?? NaN);
    if (!(sleep > 0)) problems.push(`preStop ${JSON.stringify(preStop)} is no sleep`);
    if (appEnv.NODE_ENV !== 'production') problems.push(`NODE_ENV is ${appEnv.NODE_ENV}`);
    if (sleep !== drain)
      problems.push(`preStop sleeps ${sleep} s, SHUTDOWN_DRAIN_MS is ${drain} s`);
    const grace = Number(pod.terminationGracePeriodSeconds ?? 30);
    if (grace < sleep + drain + finish) {
      problems.push(
        `terminationGracePeriodSeconds ${grace} < preStop ${sleep} + drain ${drain} + grace ${finish}`,
      );
    }
    if (env.some((e) => /^SWC_|^NODE_OPTIONS$|^TS_NODE/.test(str(e.name) ?? ''))) {
      problems.push('sets a compiler variable (SWC_*, NODE_OPTIONS, TS_NODE*)');
    }
    const command = [...arr(c.command), ...arr(c.args)].map(String);
    if (command.length > 0) problems.push(`overrides the image's CMD with ${command.join(' ')}`);
    if (!/^(registry\.example\.com\/)?cap\/[\w-]+([:@].+)?$/.test(str(c.image) ?? '')) {
      problems.push(`image ${str(c.image)}`);
    }
    const configMaps = arr(c.envFrom).map((e) => str(at(e, 'configMapRef', 'name')));
    if (!configMaps.some((name) => name && find('ConfigMap', name))) {
      problems.push('no envFrom of a rendered ConfigMap');
    }
    for (const e of env.filter((e) => isObj(at(e, 'valueFrom', 'secretKeyRef')))) {
      const ref = obj(at(e, 'valueFrom', 'secretKeyRef'));
      if (ref.name !== 'cap-secrets' || !SECRET_KEYS.includes(str(ref.key) ?? '')) {
        problems.push(`${str(e.name)} from secret ${str(ref.name)} key ${str(ref.key)}`);
      }
    }
    if (!env.some((e) => isObj(at(e, 'valueFrom', 'secretKeyRef')))) {
      problems.push('no env from the cap-secrets Secret');
    }
    expect(problems).toEqual([]);
  });

  it('runs 2+ replicas of the gateway, auth-server, projects-service and console, 1+ usage-worker', () => {
    const problems: string[] = [];
    for (const app of APPS) {
      const min = REPLICATED_APPS.includes(app) ? 2 : 1;
      const replicas = at(deployment(app), 'spec', 'replicas');
      const hpaMin = Number(at(hpaFor(app), 'spec', 'minReplicas') ?? 1);
      const effective = typeof replicas === 'number' ? replicas : hpaFor(app) ? hpaMin : 1;
      if (effective < min) problems.push(`${app}: ${effective} replica(s), needs ${min}+`);
    }
    expect(problems).toEqual([]);
  });

  it("exposes each app on a ClusterIP Service at its default port (the apps' config.ts)", () => {
    const problems: string[] = [];
    for (const app of APPS) {
      const service = obj(find('Service', app));
      const labels = obj(at(deployment(app), 'spec', 'template', 'metadata', 'labels'));
      if ((str(at(service, 'spec', 'type')) ?? 'ClusterIP') !== 'ClusterIP') {
        problems.push(`${app}: Service type ${str(at(service, 'spec', 'type'))}`);
      }
      const selector = obj(at(service, 'spec', 'selector'));
      if (!labelsMatch({ matchLabels: selector }, labels) || Object.keys(selector).length === 0) {
        problems.push(`${app}: the Service selector does not select the app's pods`);
      }
      const ports = arr(at(service, 'spec', 'ports')).map(obj);
      const servicePorts = ports.map((p) => Number(p.port));
      if (JSON.stringify(servicePorts) !== JSON.stringify([PORTS[app]])) {
        problems.push(`${app}: Service ports [${servicePorts.join(', ')}], not [${PORTS[app]}]`);
      }
      for (const p of ports) {
        const target = portNumber(app, p.targetPort ?? p.port);
        if (target !== PORTS[app]) problems.push(`${app}: targetPort reaches ${target}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('has a PodDisruptionBudget for each replicated app', () => {
    const problems: string[] = [];
    for (const app of REPLICATED_APPS) {
      const labels = obj(at(deployment(app), 'spec', 'template', 'metadata', 'labels'));
      const pdbs = all('PodDisruptionBudget').filter((p) =>
        labelsMatch(at(p, 'spec', 'selector'), labels),
      );
      if (pdbs.length !== 1) problems.push(`${app}: ${pdbs.length} PodDisruptionBudgets`);
      for (const pdb of pdbs) {
        const spec = obj(pdb.spec);
        if (spec.maxUnavailable === undefined && Number(spec.minAvailable) >= 2) {
          problems.push(`${app}: minAvailable ${String(spec.minAvailable)} would block drains`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('migrates in a Job (the built migrate tool) marked to run before the rollout', () => {
    const jobs = all('Job');
    expect(jobs.map(nameOf).sort()).toEqual(['cap-migrate', 'cap-redis-acl']);
    const job = find('Job', 'cap-migrate');
    const c = obj(at(job, 'spec', 'template', 'spec', 'containers', 0));
    const command = [...arr(c.command), ...arr(c.args)].map(String).join(' ');
    expect(command).toBe(MIGRATE_CMD.join(' '));
    expect(at(job, 'metadata', 'annotations', 'argocd.argoproj.io/hook')).toBe('PreSync');
    expect(at(job, 'metadata', 'labels', 'app.kubernetes.io/component')).toBe('migration');
    expect(at(job, 'spec', 'template', 'spec', 'securityContext', 'runAsNonRoot')).toBe(true);
    const databaseUrl = arr(c.env).find((e) => at(e, 'name') === 'DATABASE_URL');
    expect(at(databaseUrl, 'valueFrom', 'secretKeyRef')).toEqual({
      name: 'cap-secrets',
      key: 'DATABASE_URL',
    });
  });

  it('security: each app connects to Redis as its own ACL user (its own secret key)', () => {
    const problems: string[] = [];
    for (const app of APPS) {
      const redisUrl = arr(container(app).env).find((e) => at(e, 'name') === 'REDIS_URL');
      const ref = obj(at(redisUrl, 'valueFrom', 'secretKeyRef'));
      if (ref.name !== 'cap-secrets' || ref.key !== REDIS_URL_KEY(app)) {
        problems.push(`${app}: REDIS_URL from ${JSON.stringify(ref)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('security: a pre-rollout Job creates the Redis users from secret passwords', () => {
    const job = obj(find('Job', 'cap-redis-acl'));
    const c = obj(at(job, 'spec', 'template', 'spec', 'containers', 0));
    expect([...arr(c.command), ...arr(c.args)].map(String).join(' ')).toBe(
      `${REDIS_ACL_CMD.join(' ')} --apply`,
    );
    expect(at(job, 'metadata', 'labels', 'app.kubernetes.io/component')).toBe('migration');
    expect(at(job, 'spec', 'template', 'spec', 'securityContext', 'runAsNonRoot')).toBe(true);
    const env = arr(c.env).map(obj);
    for (const key of [...REDIS_PASSWORD_KEYS, 'REDIS_ACL_ADMIN_URL']) {
      const e = env.find((x) => x.name === key);
      expect([key, at(e, 'valueFrom', 'secretKeyRef')]).toEqual([
        key,
        { name: 'cap-secrets', key },
      ]);
    }
    // No password written in the manifests themselves.
    expect(
      env.filter((e) => /PASSWORD|URL/.test(str(e.name) ?? '') && e.value !== undefined),
    ).toEqual([]);
  });

  it('routes the api, auth and console hosts to their apps, over TLS', () => {
    const ingresses = all('Ingress');
    expect(ingresses).toHaveLength(1);
    const spec = obj(ingresses[0].spec);
    const hostOf = (app: App) =>
      arr(spec.rules)
        .filter((r) =>
          arr(at(r, 'http', 'paths')).some(
            (p) =>
              at(p, 'backend', 'service', 'name') === app &&
              portNumber(app, at(p, 'backend', 'service', 'port', 'number')) === PORTS[app],
          ),
        )
        .map((r) => str(at(r, 'host')) ?? '');
    const [apiHost, authHost, consoleHost] = PUBLIC_APPS.map(hostOf);
    expect(apiHost).toHaveLength(1);
    expect(authHost).toHaveLength(1);
    expect(consoleHost).toHaveLength(1);
    const tls = arr(spec.tls);
    const tlsHosts = tls.flatMap((t) => arr(at(t, 'hosts')).map(String));
    expect(tls.every((t) => typeof at(t, 'secretName') === 'string')).toBe(true);
    expect(tlsHosts).toEqual(expect.arrayContaining([apiHost[0], authHost[0], consoleHost[0]]));
    // The console's OAuth callback and its sign-in redirect follow the public hosts too.
    expect({
      PUBLIC_URL: effectiveEnv('console').PUBLIC_URL,
      ISSUER: effectiveEnv('console').ISSUER,
    }).toEqual({ PUBLIC_URL: `https://${consoleHost[0]}`, ISSUER: `https://${authHost[0]}` });
    // The tokens' issuer and audience are the public addresses, and the gateway must agree.
    const config = obj(
      at(
        all('ConfigMap').find((m) => nameOf(m).startsWith('cap-config')),
        'data',
      ),
    );
    expect({
      ISSUER: config.ISSUER,
      OAUTH_ISSUER: config.OAUTH_ISSUER,
      API_AUDIENCE: config.API_AUDIENCE,
      OAUTH_AUDIENCE: config.OAUTH_AUDIENCE,
      OAUTH_JWKS_URL: config.OAUTH_JWKS_URL,
    }).toEqual({
      ISSUER: `https://${authHost[0]}`,
      OAUTH_ISSUER: `https://${authHost[0]}`,
      API_AUDIENCE: `https://${apiHost[0]}`,
      OAUTH_AUDIENCE: `https://${apiHost[0]}`,
      OAUTH_JWKS_URL: `http://auth-server:${PORTS['auth-server']}/oauth/jwks`,
    });
  });

  it('routes only public paths: probes and /metrics are not reachable through the ingress', () => {
    const internal = ['/healthz', '/readyz', '/metrics'];
    const exposed = all('Ingress').flatMap((ingress) =>
      arr(at(ingress, 'spec', 'rules')).flatMap((rule) =>
        arr(at(rule, 'http', 'paths')).flatMap((p) => {
          const path = str(at(p, 'path')) ?? '/';
          const covers = (target: string) =>
            str(at(p, 'pathType')) === 'Exact'
              ? path === target
              : path === '/' || target === path || target.startsWith(`${path.replace(/\/$/, '')}/`);
          return internal.filter(covers).map((t) => `${str(at(rule, 'host'))}${t} via ${path}`);
        }),
      ),
    );
    expect(exposed).toEqual([]);
  });

  it('marks every app for Prometheus to scrape /metrics on its own port', () => {
    const problems = APPS.flatMap((app) => {
      const notes = obj(at(deployment(app), 'spec', 'template', 'metadata', 'annotations'));
      const want = {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(PORTS[app]),
        'prometheus.io/path': '/metrics',
      };
      return Object.entries(want)
        .filter(([k, v]) => str(notes[k]) !== v)
        .map(([k, v]) => `${app}: ${k} is ${str(notes[k])}, not ${v}`);
    });
    expect(problems).toEqual([]);
  });

  it('lets only the ingress reach 8080/8081/8084 and keeps 8082/8083 inside the namespace', () => {
    const policies = all('NetworkPolicy');
    const podLabels = (app: App) =>
      obj(at(deployment(app), 'spec', 'template', 'metadata', 'labels'));
    const problems: string[] = [];
    const denyAll = policies.some(
      (p) =>
        Object.keys(obj(at(p, 'spec', 'podSelector'))).length === 0 &&
        arr(at(p, 'spec', 'policyTypes')).includes('Ingress') &&
        arr(at(p, 'spec', 'ingress')).length === 0,
    );
    if (!denyAll) problems.push('no default-deny ingress policy (podSelector: {})');
    const reachable = new Set<string>();
    for (const policy of policies) {
      const selected = APPS.filter((app) =>
        labelsMatch(at(policy, 'spec', 'podSelector'), podLabels(app)),
      );
      for (const rule of arr(at(policy, 'spec', 'ingress'))) {
        const from = arr(at(rule, 'from'));
        const ports = arr(at(rule, 'ports')).map((p) => Number(at(p, 'port')));
        const outside =
          from.length === 0 ||
          from.some((f) => at(f, 'namespaceSelector') !== undefined || at(f, 'ipBlock'));
        for (const app of selected) {
          const open = ports.length === 0 ? [PORTS[app]] : ports;
          if (!open.includes(PORTS[app])) continue;
          if (outside && !PUBLIC_APPS.includes(app)) {
            problems.push(`${nameOf(policy)} opens ${app} to other namespaces`);
          }
          if (outside) reachable.add(app);
        }
        if (outside && ports.some((p) => !PUBLIC_APPS.some((app) => PORTS[app] === p))) {
          problems.push(
            `${nameOf(policy)} opens port(s) ${ports.join(', ')} beyond the public apps'`,
          );
        }
      }
    }
    for (const app of PUBLIC_APPS) {
      if (!reachable.has(app)) problems.push(`nothing lets the ingress reach ${app}`);
    }
    expect(problems).toEqual([]);
  });

  if (overlay === 'prod') {
    it('autoscales the gateway on CPU, above the base replica count', () => {
      const hpa = obj(hpaFor('api-gateway'));
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(Number(at(hpa, 'spec', 'minReplicas'))).toBeGreaterThan(2);
      expect(Number(at(hpa, 'spec', 'maxReplicas'))).toBeGreaterThan(
        Number(at(hpa, 'spec', 'minReplicas')),
      );
      const metrics = arr(at(hpa, 'spec', 'metrics'));
      expect(metrics.some((m) => at(m, 'resource', 'name') === 'cpu')).toBe(true);
      // The HPA owns the count: a fixed one in the Deployment would reset it on each apply.
      expect(at(deployment('api-gateway'), 'spec', 'replicas')).toBeUndefined();
    });

    it('pins every image to a released tag or digest', () => {
      const images = [...all('Deployment'), ...all('Job')].flatMap((o) =>
        arr(at(o, 'spec', 'template', 'spec', 'containers')).map((c) => str(at(c, 'image')) ?? ''),
      );
      const unpinned = images.filter(
        (image) =>
          !/@sha256:[0-9a-f]{64}$/.test(image) &&
          !/:(v?\d+\.\d+\.\d+[\w.+-]*)$/.test(image.slice(image.lastIndexOf('/'))),
      );
      expect(unpinned).toEqual([]);
    });
  }
});
