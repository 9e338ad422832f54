import { loadConfig } from '@cap/config';
import { gatewayEnv } from './config';

describe('security: gateway settings for credential checking', () => {
  it('defaults: 60 failures a minute per address, 1 h token lifetime, no trusted proxy', () => {
    expect(loadConfig(gatewayEnv, {})).toMatchObject({
      AUTH_FAILURES_PER_MINUTE: 60,
      ACCESS_TOKEN_MAX_LIFETIME_S: 3_600,
      KEY_NEGATIVE_CACHE_MAX: 10_000,
      KEY_NEGATIVE_CACHE_TTL_MS: 10_000,
      TRUST_PROXY: false,
    });
  });

  it.each([
    ['false', false],
    ['true', 1],
    ['2', 2],
    ['10.0.0.0/8, 127.0.0.1', '10.0.0.0/8, 127.0.0.1'],
  ])('reads TRUST_PROXY=%p as Fastify’s trustProxy %p', (value, expected) => {
    expect(loadConfig(gatewayEnv, { TRUST_PROXY: value }).TRUST_PROXY).toEqual(expected);
  });

  it('refuses a TRUST_PROXY that is no hop count or address list', () => {
    expect(() => loadConfig(gatewayEnv, { TRUST_PROXY: 'yes please' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig(gatewayEnv, { AUTH_FAILURES_PER_MINUTE: '0' })).toThrow(
      /AUTH_FAILURES_PER_MINUTE/,
    );
  });
});
