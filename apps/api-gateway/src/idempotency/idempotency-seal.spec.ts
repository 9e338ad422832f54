import { randomBytes } from 'node:crypto';
import { IdempotencySeal } from './idempotency-seal';

describe('security: IdempotencySeal', () => {
  const secret = randomBytes(32);
  const seal = new IdempotencySeal(secret);
  const record = seal.recordName('p', 'key_1', 'idem-1');
  const body = JSON.stringify({ secret: 'sk_live_not-a-real-secret' });

  it('opens what it sealed, for the same record and Idempotency-Key', () => {
    const sealed = seal.seal(record, 'idem-1', body);
    expect(sealed).not.toContain('sk_live');
    expect(seal.open(record, 'idem-1', sealed)).toBe(body);
  });

  it('seals the same body differently each time (random IV)', () => {
    expect(seal.seal(record, 'idem-1', body)).not.toBe(seal.seal(record, 'idem-1', body));
  });

  it('opens nothing with another Idempotency-Key, record or gateway secret', () => {
    const sealed = seal.seal(record, 'idem-1', body);
    expect(seal.open(record, 'idem-2', sealed)).toBeNull();
    expect(seal.open(seal.recordName('p', 'key_2', 'idem-1'), 'idem-1', sealed)).toBeNull();
    expect(new IdempotencySeal(randomBytes(32)).open(record, 'idem-1', sealed)).toBeNull();
  });

  it('opens nothing altered, truncated or in an unknown format', () => {
    const sealed = seal.seal(record, 'idem-1', body);
    const flipped = sealed.slice(0, -2) + (sealed.at(-2) === 'A' ? 'B' : 'A') + sealed.at(-1);
    expect(seal.open(record, 'idem-1', flipped)).toBeNull();
    expect(seal.open(record, 'idem-1', sealed.slice(0, 10))).toBeNull();
    expect(seal.open(record, 'idem-1', body)).toBeNull();
  });

  it('names records without the Idempotency-Key, per principal, under the secret', () => {
    expect(record).not.toContain('idem-1');
    expect(record).toMatch(/^p:idem:\{key_1\}:[0-9a-f]{64}$/);
    expect(seal.recordName('p', 'key_2', 'idem-1')).not.toBe(record);
    expect(new IdempotencySeal(randomBytes(32)).recordName('p', 'key_1', 'idem-1')).not.toBe(
      record,
    );
  });
});
