import { z } from 'zod';
import { baseEnv, ConfigError, loadConfig, loadConfigOrExit, port } from './load-config';

/** The ConfigError thrown by `fn`, failing the test otherwise. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

const appEnv = baseEnv.extend({ PORT: port(8080) });

describe('loadConfig', () => {
  it('applies every default to an empty environment', () => {
    expect(loadConfig(appEnv, {})).toEqual({
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: 'cap',
      PORT: 8080,
      SHUTDOWN_GRACE_MS: 10_000,
      TRUST_PROXY: false,
    });
  });

  it('takes given values over the defaults, coercing numbers', () => {
    const config = loadConfig(appEnv, {
      NODE_ENV: 'production',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'warn',
      REDIS_URL: 'redis://cache.internal:6380/2',
      QUEUE_PREFIX: 'test-file_42',
      PORT: '9090',
    });
    expect(config).toEqual({
      NODE_ENV: 'production',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'warn',
      REDIS_URL: 'redis://cache.internal:6380/2',
      QUEUE_PREFIX: 'test-file_42',
      PORT: 9090,
      SHUTDOWN_GRACE_MS: 10_000,
      TRUST_PROXY: false,
    });
  });

  it('treats undefined values as absent', () => {
    expect(loadConfig(appEnv, { HOST: undefined, PORT: undefined })).toMatchObject({
      HOST: '127.0.0.1',
      PORT: 8080,
    });
  });

  it('ignores variables the schema does not name', () => {
    const config = loadConfig(baseEnv, { PATH: '/usr/bin', SECRET_TOKEN: 'x' });
    expect(config).not.toHaveProperty('PATH');
    expect(config).not.toHaveProperty('SECRET_TOKEN');
  });

  it('returns a frozen object', () => {
    const config = loadConfig(appEnv, {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { PORT: number }).PORT = 1;
    }).toThrow(TypeError);
    expect(config.PORT).toBe(8080);
  });

  it('lists every problem, each with its variable', () => {
    const err = configError(() =>
      loadConfig(appEnv, {
        NODE_ENV: 'staging',
        LOG_LEVEL: 'verbose',
        REDIS_URL: 'not a url',
        QUEUE_PREFIX: 'has spaces',
        PORT: '70000',
      }),
    );
    expect(err.name).toBe('ConfigError');
    expect(err.issues).toHaveLength(5);
    const vars = err.issues.map((issue) => issue.split(':')[0]);
    expect(vars.sort()).toEqual(['LOG_LEVEL', 'NODE_ENV', 'PORT', 'QUEUE_PREFIX', 'REDIS_URL']);
    expect(err.issues).toContain('QUEUE_PREFIX: letters, digits, _ and - only');
    for (const issue of err.issues) expect(err.message).toContain(issue);
    expect(err.message.startsWith('Invalid environment:\n  ')).toBe(true);
    expect(err.message.split('\n')).toHaveLength(6);
  });

  it('reports a single problem alone', () => {
    const err = configError(() => loadConfig(appEnv, { HOST: '' }));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0].startsWith('HOST: ')).toBe(true);
  });

  it('reports a missing required variable', () => {
    const schema = z.object({ DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//) });
    expect(configError(() => loadConfig(schema, {})).issues).toEqual([
      expect.stringMatching(/^DATABASE_URL: /),
    ]);
    expect(configError(() => loadConfig(schema, { DATABASE_URL: 'mysql://x' })).issues).toEqual([
      expect.stringMatching(/^DATABASE_URL: /),
    ]);
    expect(loadConfig(schema, { DATABASE_URL: 'postgresql://h/db' }).DATABASE_URL).toBe(
      'postgresql://h/db',
    );
  });

  it('names a problem with no path as (env)', () => {
    const schema = z
      .object({ A: z.string().optional(), B: z.string().optional() })
      .refine((env) => env.A !== undefined || env.B !== undefined, 'set A or B');
    expect(configError(() => loadConfig(schema, {})).issues).toEqual(['(env): set A or B']);
  });

  it.each([['-1'], ['65536'], ['80.5'], ['http']])('rejects the port %p', (value) => {
    expect(configError(() => loadConfig(appEnv, { PORT: value })).issues).toEqual([
      expect.stringMatching(/^PORT: /),
    ]);
  });

  it.each([
    ['0', 0],
    ['1', 1],
    ['65535', 65535],
  ])('accepts the port %p', (value, expected) => {
    expect(loadConfig(appEnv, { PORT: value }).PORT).toBe(expected);
  });

  it.each([[''], ['x'.repeat(65)], ['a/b'], ['a:b']])('rejects the queue prefix %p', (value) => {
    expect(configError(() => loadConfig(baseEnv, { QUEUE_PREFIX: value })).issues).toEqual([
      'QUEUE_PREFIX: letters, digits, _ and - only',
    ]);
  });
});

describe('Redis modes', () => {
  it('parses sentinels and cluster nodes into host/port lists', () => {
    expect(
      loadConfig(baseEnv, {
        REDIS_SENTINELS: ' sentinel-a:26379, 10.0.0.2:26380,[::1]:26381',
        REDIS_SENTINEL_NAME: 'cap',
      }),
    ).toMatchObject({
      REDIS_SENTINELS: [
        { host: 'sentinel-a', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      REDIS_SENTINEL_NAME: 'cap',
    });
    expect(loadConfig(baseEnv, { REDIS_CLUSTER_NODES: 'n1:7000,n2:7001' })).toMatchObject({
      REDIS_CLUSTER_NODES: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
    });
  });

  it.each([['n1'], ['n1:0'], ['n1:70000'], ['n1:7000,'], ['http://n1:7000']])(
    'rejects the node list %p',
    (value) => {
      expect(configError(() => loadConfig(baseEnv, { REDIS_CLUSTER_NODES: value })).issues).toEqual(
        [expect.stringMatching(/^REDIS_CLUSTER_NODES: .* is not host:port$/)],
      );
    },
  );

  it('refuses two modes at once, and a sentinel list without its primary name', () => {
    expect(
      configError(() =>
        loadConfig(baseEnv, {
          REDIS_SENTINELS: 's:26379',
          REDIS_SENTINEL_NAME: 'cap',
          REDIS_CLUSTER_NODES: 'n:7000',
        }),
      ).issues,
    ).toEqual([expect.stringMatching(/^REDIS_CLUSTER_NODES: set either/)]);
    expect(configError(() => loadConfig(baseEnv, { REDIS_SENTINELS: 's:26379' })).issues).toEqual([
      expect.stringMatching(/^REDIS_SENTINEL_NAME: required/),
    ]);
    expect(configError(() => loadConfig(baseEnv, { REDIS_SENTINEL_NAME: 'cap' })).issues).toEqual([
      expect.stringMatching(/^REDIS_SENTINELS: required/),
    ]);
  });
});

describe('loadConfigOrExit', () => {
  afterEach(() => jest.restoreAllMocks());

  it('prints the problems and exits 1 on an invalid environment', () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation(() => {
      throw new Error('exit called');
    });
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const schema = z.object({ CAP_SPEC_SURELY_UNSET_VARIABLE: z.string() });
    expect(() => loadConfigOrExit(schema, 'my-app')).toThrow('exit called');
    expect(exit).toHaveBeenCalledWith(1);
    const written = stderr.mock.calls.map((call) => String(call[0])).join('');
    expect(written).toContain('my-app: Invalid environment:');
    expect(written).toContain('CAP_SPEC_SURELY_UNSET_VARIABLE');
  });

  it('returns the frozen config when the environment is valid', () => {
    const exit = jest.spyOn(process, 'exit');
    const config = loadConfigOrExit(z.object({ X: z.string().default('d') }), 'my-app');
    expect(config).toEqual({ X: process.env.X ?? 'd' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(exit).not.toHaveBeenCalled();
  });

  it('rethrows an error that is not a ConfigError', () => {
    const schema = z.object({}).transform(() => {
      throw new RangeError('bug in a transform');
    });
    expect(() => loadConfigOrExit(schema, 'my-app')).toThrow(RangeError);
  });
});
