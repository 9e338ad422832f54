import { IdentityJobs, MemberRole, ProjectsJobs } from '@cap/contracts';
import { apiRequest } from './api';
import { createTestDatabase, TestDatabase } from './database';
import { TEST_ENV, testQueuePrefix } from './env';
import {
  AppName,
  BuiltApps,
  freePort,
  runAdmin,
  runBuiltMigrate,
  RunningApp,
  startApp,
} from './processes';
import { cleanRedisPrefix } from './redis';

type Res<J, K extends keyof J> = J[K] extends { res: infer R } ? R : never;

/**
 * The platform for one end-to-end test file: a fresh database, a fresh queue prefix, and the
 * apps as real processes, exactly as `npm start` runs them, or with `built` as the images run
 * them: compiled (`npm run build`), the database migrated by the built migration tool, the
 * apps and the admin CLI started from their `main.js`.
 */
export class TestPlatform {
  private constructor(
    readonly db: TestDatabase,
    readonly env: Record<string, string>,
    readonly apps: Map<AppName, RunningApp>,
    readonly built?: BuiltApps,
  ) {}

  /**
   * `appEnv`: settings of one app only, over `extraEnv` (its own Redis user, say). `tls`: every
   * app serves HTTPS with that certificate, which every app trusts (NODE_EXTRA_CA_CERTS); the
   * issuer is https, and `url()` gives https addresses (`ca` is what test clients trust).
   * `built`: the apps run from a build (`npm run build`), migrated by its migrate tool.
   */
  static async start(
    names: AppName[] = ['projects-service', 'auth-server', 'api-gateway'],
    extraEnv: Record<string, string> = {},
    appEnv: Partial<Record<AppName, Record<string, string>>> = {},
    options: { tls?: { certFile: string; keyFile: string }; built?: BuiltApps } = {},
  ): Promise<TestPlatform> {
    const { built } = options;
    const db = await createTestDatabase({ migrated: !built });
    if (built) {
      const migrated = await runBuiltMigrate(built, db.url);
      if (migrated.code !== 0) {
        await db.drop();
        throw new Error(`the built migrate exited ${migrated.code}: ${migrated.stderr}`);
      }
    }
    // The issuer is the auth-server's own URL: known before anything starts.
    const authPort = await freePort();
    const tls = options.tls;
    const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${authPort}`;
    const env = {
      ...(tls
        ? {
            TLS_CERT_FILE: tls.certFile,
            TLS_KEY_FILE: tls.keyFile,
            NODE_EXTRA_CA_CERTS: tls.certFile,
          }
        : {}),
      DATABASE_URL: db.url,
      REDIS_URL: TEST_ENV.redisUrl,
      QUEUE_PREFIX: testQueuePrefix(),
      DB_POOL_MAX: '4',
      ISSUER: issuer,
      OAUTH_ISSUER: issuer,
      REQUEST_ID_SECRET: `test-${testQueuePrefix()}-request-id-secret-0123456789`,
      ...extraEnv,
    };
    const apps = await Promise.all(
      names.map((n) =>
        startApp(
          n,
          { ...env, ...appEnv[n] },
          {
            built,
            ...(n === 'auth-server' ? { port: authPort } : {}),
          },
        ),
      ),
    );
    return new TestPlatform(db, env, new Map(apps.map((a) => [a.name, a])), built);
  }

  /** The certificate the apps serve, when they serve HTTPS: what a test client must trust. */
  get ca(): Buffer | undefined {
    return [...this.apps.values()].find((a) => a.ca)?.ca;
  }

  /** Base URL of an app of this platform. */
  url(name: AppName = 'api-gateway'): string {
    const app = this.apps.get(name);
    if (!app) throw new Error(`${name} is not running`);
    return app.url;
  }

  /** Starts one more app process (a second gateway, say) on this platform. */
  async startApp(name: AppName, env: Record<string, string> = {}): Promise<RunningApp> {
    return startApp(name, { ...this.env, ...env }, { built: this.built });
  }

  async admin<T = unknown>(args: string[], stdin = ''): Promise<T> {
    const result = await runAdmin(args, this.env, stdin, this.built);
    if (result.code !== 0) throw new Error(`admin ${args[0]} failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  /** A user with a project and an API key for it: the start of most tests. */
  async tenant(label: string, region = 'us-east') {
    const email = `${label}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
    const user = await this.admin<Res<IdentityJobs, 'admin.users.create'>>(
      ['create-user', '--email', email, '--name', label],
      'a long enough password\n',
    );
    const project = await this.admin<Res<ProjectsJobs, 'projects.create'>>([
      'create-project',
      '--owner',
      email,
      '--name',
      `${label}-project`,
      '--region',
      region,
    ]);
    const key = await this.admin<Res<ProjectsJobs, 'admin.keys.create'> & { secret: string }>([
      'create-key',
      '--project',
      project.id,
      '--name',
      `${label}-key`,
    ]);
    return { email, user, project, key, secret: key.secret };
  }

  /**
   * Makes the user with `email` a member of a project with `role`. Tests whose subject is not
   * how members join use this one helper, so that they do not depend on that path. Members join
   * by invitation, which only the invitee can accept (with a credential of theirs this helper
   * does not have), so this is the operator's direct add (`admin add-member`); `by`, the secret
   * of an owner's or admin's credential, is first checked to see the project's members (it
   * must be one of them), as the invitation path would.
   */
  async addMember(projectId: string, by: string, email: string, role: MemberRole): Promise<void> {
    const check = await apiRequest(this.url(), 'GET', `/v1/projects/${projectId}/members`, {
      token: by,
    });
    if (check.status !== 200) {
      throw new Error(`adding ${email}: by is no member (${check.status} ${check.text})`);
    }
    await this.admin(['add-member', '--project', projectId, '--email', email, '--role', role]);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.apps.values()].map((a) => a.stop()));
    await cleanRedisPrefix(this.env.QUEUE_PREFIX);
    await this.db.drop();
  }
}

/** What `TestPlatform.tenant` gives: a user with a project and an API key for it. */
export type Tenant = Awaited<ReturnType<TestPlatform['tenant']>>;
