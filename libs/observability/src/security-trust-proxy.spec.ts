import fastify from 'fastify';
import pino from 'pino';
import { baseEnv } from '@cap/config';
import { fastifyOptions } from './http';

/** `req.ip` of a request from `remoteAddress` with `forwarded` as X-Forwarded-For. */
async function ipOf(trustProxy: string, remoteAddress: string, forwarded?: string) {
  const { TRUST_PROXY } = baseEnv.parse({ TRUST_PROXY: trustProxy });
  const app = fastify(fastifyOptions(pino({ level: 'silent' }), TRUST_PROXY));
  app.get('/ip', (req) => ({ ip: req.ip }));
  const res = await app.inject({
    url: '/ip',
    remoteAddress,
    headers: forwarded ? { 'x-forwarded-for': forwarded } : {},
  });
  await app.close();
  return res.json<{ ip: string }>().ip;
}

describe('security: the client address behind proxies (TRUST_PROXY)', () => {
  it('ignores X-Forwarded-For when no proxy is trusted (the default)', async () => {
    expect(await ipOf('false', '198.51.100.7', '1.2.3.4')).toBe('198.51.100.7');
    expect(baseEnv.parse({}).TRUST_PROXY).toBe(false);
  });

  it('takes the right-most hop not trusted: a spoofed left-most value changes nothing', async () => {
    // One proxy (10.0.0.2) in front; the client at 198.51.100.7 wrote its own header first.
    for (const trust of ['1', 'true', '10.0.0.0/8', '10.0.0.2']) {
      const a = await ipOf(trust, '10.0.0.2', '1.2.3.4, 198.51.100.7');
      const b = await ipOf(trust, '10.0.0.2', '5.6.7.8, 198.51.100.7');
      expect([trust, a, b]).toEqual([trust, '198.51.100.7', '198.51.100.7']);
    }
    // Two proxies: the edge (10.0.0.1) appended the client, the inner one the edge.
    expect(await ipOf('2', '10.0.0.2', '1.2.3.4, 198.51.100.7, 10.0.0.1')).toBe('198.51.100.7');
    expect(await ipOf('10.0.0.0/8', '10.0.0.2', '1.2.3.4, 198.51.100.7, 10.0.0.1')).toBe(
      '198.51.100.7',
    );
  });

  it('believes no header from a peer outside the trusted ranges', async () => {
    expect(await ipOf('10.0.0.0/8', '203.0.113.9', '1.2.3.4')).toBe('203.0.113.9');
  });

  it('refuses a value that is neither a count nor addresses', () => {
    for (const bad of ['yes', '10.0.0.0/99', 'example.com', '99']) {
      expect(baseEnv.safeParse({ TRUST_PROXY: bad }).success).toBe(false);
    }
    expect(baseEnv.parse({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).TRUST_PROXY).toEqual([
      'loopback',
      '10.0.0.0/8',
    ]);
  });
});
