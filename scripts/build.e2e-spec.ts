/**
 * `npm run build`, then the platform from its output alone, the way the images run it: the
 * build goes to a scratch folder laid out like an image's /app (`dist/` beside `node_modules`,
 * no sources), the built migration tool migrates a fresh database, every app starts from its
 * `main.js` and reaches /readyz, and a tenant made with the built admin CLI calls the API
 * through the built gateway.
 *
 * Every built process runs with `--require no-compiler.js` (written below): it makes loading
 * anything of SWC (`@swc/*`, `@swc-node/*`, its native addon), TypeScript, or a `.ts` file throw,
 * and records the attempt in a file that must stay empty. A control run proves it trips.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  apiRequest,
  AppName,
  BuiltApps,
  REPO_ROOT,
  runBuiltMigrate,
  RunningApp,
  TestPlatform,
} from '@cap/testing';

jest.setTimeout(240_000);

const TARGETS = [
  'api-gateway',
  'auth-server',
  'projects-service',
  'usage-worker',
  'console',
  'admin-cli',
] as const;
const SERVICES: AppName[] = ['projects-service', 'auth-server', 'usage-worker', 'api-gateway'];

const work = mkdtempSync(join(tmpdir(), 'cap-build-'));
const dist = join(work, 'dist');
const guard = join(work, 'no-compiler.js');
const violations = join(work, 'violations.log');
const built: BuiltApps = { dir: dist, nodeArgs: ['--require', guard] };

const GUARD_SOURCE = `'use strict';
// Loaded with --require before a built app: nothing may compile TypeScript at run time.
const fs = require('node:fs');
const Module = require('node:module');
const log = ${JSON.stringify(violations)};
const banned = (file) =>
  /[\\\\/]node_modules[\\\\/](@swc|@swc-node|typescript|ts-node)[\\\\/]/.test(file) ||
  /\\.[cm]?ts$/.test(file) ||
  /swc/i.test(file.split(/[\\\\/]/).pop());
const refuse = (what) => {
  fs.appendFileSync(log, process.pid + ' ' + what + '\\n');
  throw new Error('no-compiler: ' + what);
};
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const file = resolveFilename.call(this, request, ...rest);
  if (banned(file)) refuse('require ' + request + ' -> ' + file);
  return file;
};
const dlopen = process.dlopen;
process.dlopen = function (module, file, ...rest) {
  if (banned(String(file))) refuse('dlopen ' + file);
  return dlopen.call(this, module, file, ...rest);
};
for (const ext of ['.ts', '.mts', '.cts']) {
  if (Module._extensions[ext]) refuse('a ' + ext + ' loader is registered');
}
process.stderr.write('no-compiler: armed\\n');
`;

/** Every `require("…")` of the emitted JavaScript under `dir`, with the file it is in. */
function requiresIn(dir: string): { file: string; specifier: string }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js'))
    .flatMap((file) =>
      [...readFileSync(join(dir, file), 'utf8').matchAll(/\brequire\((["'])([^"'\n]+)\1\)/g)].map(
        (m) => ({ file, specifier: m[2] }),
      ),
    );
}

let platform: TestPlatform | undefined;
let consoleApp: RunningApp | undefined;

beforeAll(() => {
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(work, 'node_modules'));
  writeFileSync(guard, GUARD_SOURCE);
  const build = spawnSync(
    process.execPath,
    ['-r', '@swc-node/register', 'scripts/build.ts', '--out-dir', dist],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
});

afterAll(async () => {
  await consoleApp?.stop();
  await platform?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('npm run build', () => {
  it('emits main.js per app and the migrate tool with its migrations, no TypeScript', () => {
    const expected = [
      ...TARGETS.map((t) => `${t}/main.js`),
      'auth-server/signing-keys/rotate-signing-key.command.js',
      'migrate/scripts/migrate.js',
      'migrate/scripts/redis-acl.js',
    ];
    expect(expected.filter((f) => !existsSync(join(dist, 'apps', f)))).toEqual([]);
    const migrations = readdirSync(join(REPO_ROOT, 'prisma/migrations')).sort();
    expect(readdirSync(join(dist, 'apps/migrate/prisma/migrations')).sort()).toEqual(migrations);
    const all = readdirSync(dist, { recursive: true, encoding: 'utf8' });
    expect(all.filter((f) => /\.[cm]?ts$/.test(f))).toEqual([]);
    // Only what each app reaches: the gateway holds no database code, the console no gateway.
    const gateway = readdirSync(join(dist, 'apps/api-gateway'), {
      recursive: true,
      encoding: 'utf8',
    });
    expect(gateway.filter((f) => f.startsWith('libs/db/'))).toEqual([]);
    const consoleFiles = readdirSync(join(dist, 'apps/console'), {
      recursive: true,
      encoding: 'utf8',
    });
    expect(consoleFiles.filter((f) => /data-plane|oauth\/provider/.test(f))).toEqual([]);
    // The generated Prisma client is compiled in where the database is used.
    expect(
      existsSync(join(dist, 'apps/projects-service/libs/db/src/generated/prisma/client.js')),
    ).toBe(true);
  });

  it('leaves no @cap/* alias, and requires only files it emitted and production packages', () => {
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const problems: string[] = [];
    for (const target of [...TARGETS, 'migrate']) {
      const dir = join(dist, 'apps', target);
      for (const { file, specifier } of requiresIn(dir)) {
        if (specifier.startsWith('.')) {
          if (!existsSync(join(dir, file, '..', specifier))) {
            problems.push(`${target}/${file}: ${specifier} was not emitted`);
          }
          continue;
        }
        if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
        const parts = specifier.split('/');
        const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
        const entry = lock.packages[`node_modules/${name}`];
        if (!entry) problems.push(`${target}/${file}: ${specifier} is no installed package`);
        else if (entry.dev) problems.push(`${target}/${file}: ${name} is a devDependency`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('the no-compiler guard', () => {
  it('trips when a process loads @swc-node/register', () => {
    const control = join(work, 'control.log');
    const source = GUARD_SOURCE.replace(JSON.stringify(violations), JSON.stringify(control));
    const controlGuard = join(work, 'control-guard.js');
    writeFileSync(controlGuard, source);
    const run = spawnSync(
      process.execPath,
      ['--require', controlGuard, '--require', '@swc-node/register', '-e', '0'],
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('no-compiler: require @swc-node/register');
    expect(readFileSync(control, 'utf8')).toMatch(/@swc-node\/register/);
  });
});

describe('the built platform', () => {
  beforeAll(async () => {
    platform = await TestPlatform.start(SERVICES, { USAGE_FLUSH_MS: '200' }, {}, { built });
    consoleApp = await platform.startApp('console', {
      ISSUER: platform.url('auth-server'),
      API_URL: platform.url(),
      CONSOLE_REDIRECT_CHECK: 'off',
    });
  });

  it('was migrated by the built migrate tool (a second run finds everything applied)', async () => {
    const again = await runBuiltMigrate(built, platform!.db.url);
    expect(again.code).toBe(0);
    const migrations = readdirSync(join(REPO_ROOT, 'prisma/migrations')).filter((m) =>
      existsSync(join(REPO_ROOT, 'prisma/migrations', m, 'migration.sql')),
    );
    expect(JSON.parse(again.stdout)).toEqual({ applied: [], skipped: migrations.sort() });
  });

  it('serves the API: a tenant from the built admin CLI lists its projects via the gateway', async () => {
    const tenant = await platform!.tenant('built');
    const res = await apiRequest(platform!.url(), 'GET', '/v1/projects', { token: tenant.secret });
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.json)).toContain(tenant.project.id);
    const discovery = await apiRequest(
      platform!.url('auth-server'),
      'GET',
      '/.well-known/openid-configuration',
    );
    expect([discovery.status, discovery.json?.issuer]).toEqual([200, platform!.env.ISSUER]);
    const signin = await fetch(`${consoleApp!.url}/signin`);
    expect(signin.status).toBe(200);
    expect(signin.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('loaded no compiler in any built process (the guard was armed in each)', () => {
    const apps = [...platform!.apps.values(), consoleApp!];
    expect(apps.map((a) => a.name).sort()).toEqual([...SERVICES, 'console'].sort());
    expect(
      apps.filter((a) => !a.output().includes('no-compiler: armed')).map((a) => a.name),
    ).toEqual([]);
    expect(existsSync(violations) ? readFileSync(violations, 'utf8') : '').toBe('');
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const codes = await Promise.all(
      [...platform!.apps.values(), consoleApp!].map(async (a) => [a.name, await a.stop()]),
    );
    expect(codes.filter(([, code]) => code !== 0)).toEqual([]);
  });
});
