/**
 * The package as users get it: `npm pack` of sdks/js, installed from the tarball into a scratch
 * project with no registry, imported from ESM and from CommonJS (calling a local server), and
 * `tsc --noEmit` of an example using every resource against the packed types, in both forms.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FaultyServer } from './faulty-server';

const SDK = resolve(__dirname, '..');
const REPO = resolve(SDK, '../..');
const TSC = join(REPO, 'node_modules/typescript/bin/tsc');

function run(file: string, args: string[], cwd: string): Promise<string> {
  return new Promise((done, fail) => {
    execFile(
      file,
      args,
      { cwd, timeout: 180_000, maxBuffer: 10 * 1024 * 1024 },
      (error, out, err) =>
        error ? fail(new Error(`${file} ${args.join(' ')} failed:\n${out}${err}`)) : done(out),
    );
  });
}

let dir: string;
let server: FaultyServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloud-api-npm-'));
  server = await FaultyServer.start(() => ({
    status: 200,
    headers: { 'x-ratelimit-limit': '600', 'x-ratelimit-remaining': '599' },
    body: { data: [{ id: 'us-east', name: 'US East' }], has_more: false },
  }));
}, 30_000);

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm pack of sdks/js', () => {
  it('installs offline into a scratch project, imports from ESM and CJS, with types', async () => {
    await run('npm', ['pack', '--silent', '--pack-destination', dir], SDK);
    const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'))!;
    expect(tarball).toBe('cloud-api-sdk-0.1.0.tgz');
    const project = join(dir, 'scratch');
    await run('mkdir', ['-p', project], dir);
    await writeFile(join(project, 'package.json'), '{"name":"scratch","private":true}\n');
    await run(
      'npm',
      ['install', join(dir, tarball), '--offline', '--no-audit', '--no-fund', '--ignore-scripts'],
      project,
    );
    const installed = await readdir(join(project, 'node_modules/@cloud-api/sdk/dist'));
    expect(installed.sort()).toEqual(['cjs', 'esm']);

    const call = `const api = new CloudApi({ apiKey: 'sk_test', baseUrl: '${server.url()}' });
      const page = await api.regions.list();
      console.log(JSON.stringify([page.data[0].id, api.rateLimit.remaining, typeof ApiError]));`;
    await writeFile(
      join(project, 'esm.mjs'),
      `import { CloudApi, ApiError } from '@cloud-api/sdk';\n${call}\n`,
    );
    await writeFile(
      join(project, 'cjs.cjs'),
      `const { CloudApi, ApiError } = require('@cloud-api/sdk');\n(async () => {\n${call}\n})();\n`,
    );
    expect(JSON.parse(await run('node', ['esm.mjs'], project))).toEqual([
      'us-east',
      599,
      'function',
    ]);
    expect(JSON.parse(await run('node', ['cjs.cjs'], project))).toEqual([
      'us-east',
      599,
      'function',
    ]);

    // The example of every resource, type-checked against the packed types as ESM and as CJS,
    // in one run with a misuse, which must be the only error (so the check is not vacuous).
    await copyFile(join(SDK, 'examples/every-resource.ts'), join(project, 'every-resource.mts'));
    await copyFile(join(SDK, 'examples/every-resource.ts'), join(project, 'every-resource.cts'));
    await writeFile(
      join(project, 'wrong.mts'),
      "import { CloudApi } from '@cloud-api/sdk';\n" +
        "await new CloudApi({}).projects.create({ name: 'x' });\n",
    );
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          // The package's declarations are still what the files are checked against.
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(REPO, 'node_modules/@types')],
        },
        files: ['every-resource.mts', 'every-resource.cts', 'wrong.mts'],
      }),
    );
    const failure = await run('node', [TSC, '-p', 'tsconfig.json'], project).then(
      () => '',
      (e: Error) => e.message,
    );
    const errors = failure.split('\n').filter((line) => /error TS\d+/.test(line));
    expect(errors).toEqual([expect.stringMatching(/^wrong\.mts\(2,.*region: string/)]);
  }, 240_000);
});
