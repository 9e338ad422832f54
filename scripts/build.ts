/**
 * `npm run build [-- <target>…] [--out-dir DIR]`: compiles each app to plain CommonJS with SWC,
 * so that images run `node dist/apps/<app>/main.js` and nothing compiles TypeScript at start.
 *
 *   dist/apps/<app>/main.js            apps/<app>/src/** compiled, at the top of the folder
 *   dist/apps/<app>/libs/<lib>/src/…   each lib file the app reaches (its `@cap/*` imports)
 *   dist/apps/migrate/scripts/{migrate,redis-acl}.js, dist/apps/migrate/prisma/migrations
 *
 * A target holds only what its entries reach: the walk follows the `require()`s SWC emits (so
 * type-only imports, which SWC erases, pull nothing in) from each entry, through relative paths
 * and the `@cap/*` aliases of tsconfig.base.json, which are rewritten to relative requires of
 * the emitted files. Packages and Node built-ins stay as they are: they come from node_modules.
 * The generated Prisma client (libs/db/src/generated, `npm run prisma:generate`) compiles in like
 * any other source. Files read at run time relative to a source file are copied beside the
 * emitted code where that file's `__dirname` expects them (see ASSETS).
 *
 * Same SWC settings as `npm start` (.swcrc: decorators with metadata, ES2022, CommonJS), each
 * file with its source map. With no target named, every target is built. Nx runs one target
 * per project (`nx run-many -t build`): `apps/<app>/project.json`, `prisma/project.json`.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { transform, type Options } from '@swc/core';

const ROOT = resolve(__dirname, '..');

interface Target {
  /** Repo-relative entry files; each becomes `<out>/<its path less srcRoot>.js`. */
  entries: string[];
  /** The folder whose files land at the top of the target's output (an app's `src/`). */
  srcRoot: string;
}

const app = (name: string, ...extra: string[]): Target => ({
  entries: [`apps/${name}/src/main.ts`, ...extra.map((e) => `apps/${name}/src/${e}`)],
  srcRoot: `apps/${name}/src/`,
});

export const TARGETS: Record<string, Target> = {
  'api-gateway': app('api-gateway'),
  // The operator's key rotation runs from the same image: node …/rotate-signing-key.command.js
  'auth-server': app('auth-server', 'signing-keys/rotate-signing-key.command.ts'),
  'projects-service': app('projects-service'),
  'usage-worker': app('usage-worker'),
  console: app('console'),
  'admin-cli': app('admin-cli'),
  migrate: { entries: ['scripts/migrate.ts', 'scripts/redis-acl.ts'], srcRoot: '' },
};

/**
 * Run-time files: when `source` is part of a target, `copy` (repo-relative) is copied to the
 * same place relative to the target's output as it is to the repo, which is where `source`'s
 * compiled `__dirname` finds it (the libs keep their repo layout under the output).
 */
const ASSETS: { source: string; copy: string }[] = [
  // MIGRATIONS_DIR = resolve(__dirname, '../../../prisma/migrations')
  { source: 'libs/db/src/migrate.ts', copy: 'prisma/migrations' },
];

const swcrc = JSON.parse(readFileSync(join(ROOT, '.swcrc'), 'utf8')) as Options & {
  $schema?: string;
};
delete swcrc.$schema;

/** `@cap/x` → its repo-relative source file, from tsconfig.base.json (exact aliases only). */
function aliases(): Map<string, string> {
  const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.base.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  const map = new Map<string, string>();
  for (const [alias, [target]] of Object.entries(tsconfig.compilerOptions.paths)) {
    if (alias.includes('*')) throw new Error(`tsconfig path "${alias}": wildcards not supported`);
    map.set(alias, target);
  }
  return map;
}

const isFile = (path: string) => existsSync(path) && statSync(path).isFile();
const posix = (path: string) => path.split(sep).join('/');

/**
 * The repo-relative source a specifier of `from` names, or undefined for a package or Node
 * built-in (left to node_modules). Throws when a relative or `@cap/*` import names no file.
 */
function resolveSource(from: string, specifier: string, alias: Map<string, string>) {
  let base: string;
  if (alias.has(specifier)) base = join(ROOT, alias.get(specifier)!);
  else if (specifier.startsWith('@cap/')) {
    throw new Error(`${from}: ${specifier} is not a path of tsconfig.base.json`);
  } else if (specifier.startsWith('./') || specifier.startsWith('../')) {
    base = resolve(ROOT, dirname(from), specifier);
  } else return undefined;
  const stem = base.replace(/\.(js|ts)$/, '');
  for (const candidate of [base, `${stem}.ts`, join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && isFile(candidate)) return posix(relative(ROOT, candidate));
  }
  if (/\.(json|js|cjs)$/.test(base) && isFile(base)) return posix(relative(ROOT, base));
  const hint = from.startsWith('libs/db/') ? ' (npm run prisma:generate)' : '';
  throw new Error(`${from}: cannot resolve "${specifier}"${hint}`);
}

/** Where a source lands in a target's output (repo-relative → output-relative `.js`). */
function outputPath(target: Target, source: string): string {
  const inside = target.srcRoot && source.startsWith(target.srcRoot);
  const path = inside ? source.slice(target.srcRoot.length) : source;
  return path.replace(/\.ts$/, '.js');
}

const REQUIRE = /\brequire\((["'])([^"'\n]+)\1\)/g;

/** SWC output per source, shared by the targets that reach it. */
const compiled = new Map<string, Promise<{ code: string; map?: string }>>();

function compile(source: string) {
  let result = compiled.get(source);
  if (!result) {
    const file = join(ROOT, source);
    result = transform(readFileSync(file, 'utf8'), {
      ...swcrc,
      swcrc: false,
      configFile: false,
      filename: file,
      sourceMaps: true,
    });
    compiled.set(source, result);
  }
  return result;
}

/** Builds one target into `<outDir>/apps/<name>`; returns the number of files emitted. */
export async function buildTarget(name: string, outDir: string): Promise<number> {
  const target = TARGETS[name];
  if (!target)
    throw new Error(`unknown target ${name} (one of ${Object.keys(TARGETS).join(', ')})`);
  const out = join(outDir, 'apps', name);
  rmSync(out, { recursive: true, force: true });
  const alias = aliases();
  const seen = new Set<string>();
  const queue = [...target.entries];
  while (queue.length > 0) {
    const source = queue.shift()!;
    if (seen.has(source)) continue;
    seen.add(source);
    const destination = join(out, outputPath(target, source));
    mkdirSync(dirname(destination), { recursive: true });
    if (!source.endsWith('.ts')) {
      cpSync(join(ROOT, source), destination);
      continue;
    }
    const { code, map } = await compile(source);
    const rewritten = code.replace(REQUIRE, (whole, quote: string, specifier: string) => {
      const dependency = resolveSource(source, specifier, alias);
      if (dependency === undefined) return whole;
      queue.push(dependency);
      const to = join(out, outputPath(target, dependency));
      let path = posix(relative(dirname(destination), to));
      if (!path.startsWith('.')) path = `./${path}`;
      return `require(${quote}${path}${quote})`;
    });
    const mapName = `${destination.slice(dirname(destination).length + 1)}.map`;
    writeFileSync(destination, `${rewritten}\n//# sourceMappingURL=${mapName}\n`);
    if (map) writeFileSync(`${destination}.map`, map);
  }
  for (const asset of ASSETS.filter((a) => seen.has(a.source))) {
    cpSync(join(ROOT, asset.copy), join(out, asset.copy), { recursive: true });
  }
  return seen.size;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'out-dir': { type: 'string', default: 'dist' } },
  });
  const outDir = resolve(ROOT, values['out-dir']);
  const names = positionals.length > 0 ? positionals : Object.keys(TARGETS);
  const started = Date.now();
  for (const name of names) {
    const files = await buildTarget(name, outDir);
    const where = relative(ROOT, join(outDir, 'apps', name));
    const shown = where.startsWith('..') ? join(outDir, 'apps', name) : posix(where);
    process.stdout.write(`build: ${name} → ${shown} (${files} files)\n`);
  }
  process.stdout.write(`build: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`build: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
