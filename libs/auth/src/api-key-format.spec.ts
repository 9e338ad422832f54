import { createHash } from 'node:crypto';
import {
  API_KEY_PREFIX,
  generateApiKey,
  hashApiKey,
  isWellFormedApiKey,
  lastFour,
  redactApiKey,
} from './api-key-format';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 38; // 32 random characters + a 6-character checksum
const SHAPE = /^sk_live_[0-9A-Za-z]{38}$/;

/** `key` with the character at `index` replaced by `char`. */
function withCharAt(key: string, index: number, char: string): string {
  return `${key.slice(0, index)}${char}${key.slice(index + 1)}`;
}

describe('generateApiKey', () => {
  it('uses the sk_live_ prefix', () => {
    expect(API_KEY_PREFIX).toBe('sk_live_');
    expect(generateApiKey().startsWith('sk_live_')).toBe(true);
  });

  it('produces sk_live_ followed by exactly 38 base62 characters', () => {
    for (let i = 0; i < 200; i++) {
      const key = generateApiKey();
      expect(key).toMatch(SHAPE);
      expect(key).toHaveLength(API_KEY_PREFIX.length + BODY_LENGTH);
    }
  });

  it('produces keys that pass its own check', () => {
    for (let i = 0; i < 500; i++) expect(isWellFormedApiKey(generateApiKey())).toBe(true);
  });

  it('never repeats a key across many generations', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 10_000; i++) keys.add(generateApiKey());
    expect(keys.size).toBe(10_000);
  });

  it('never repeats the random part either', () => {
    const randoms = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      randoms.add(generateApiKey().slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + 32));
    }
    expect(randoms.size).toBe(5_000);
  });

  it('uses the whole base62 alphabet in the random part', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      for (const c of generateApiKey().slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + 32)) {
        seen.add(c);
      }
    }
    expect([...seen].sort().join('')).toBe([...BASE62].sort().join(''));
  });
});

describe('isWellFormedApiKey', () => {
  it('refuses a key with any single character of its body or checksum changed', () => {
    for (let k = 0; k < 3; k++) {
      const key = generateApiKey();
      for (let i = API_KEY_PREFIX.length; i < key.length; i++) {
        for (const c of BASE62) {
          if (c === key[i]) continue;
          const mutated = withCharAt(key, i, c);
          if (isWellFormedApiKey(mutated)) {
            throw new Error(`accepted a key changed at index ${i} to '${c}'`);
          }
        }
      }
    }
  });

  it('refuses a key whose checksum was swapped with another key’s', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    const cut = API_KEY_PREFIX.length + 32;
    const splice = `${a.slice(0, cut)}${b.slice(cut)}`;
    expect(splice).toMatch(SHAPE);
    expect(isWellFormedApiKey(splice)).toBe(a.slice(-6) === b.slice(-6));
  });

  it('refuses a key with two adjacent characters transposed', () => {
    const key = generateApiKey();
    for (let i = API_KEY_PREFIX.length; i < key.length - 1; i++) {
      if (key[i] === key[i + 1]) continue;
      const swapped = `${key.slice(0, i)}${key[i + 1]}${key[i]}${key.slice(i + 2)}`;
      expect(isWellFormedApiKey(swapped)).toBe(false);
    }
  });

  it('refuses the documentation placeholder', () => {
    expect(isWellFormedApiKey('sk_live_51L8f9Z8vY8qW8k9fFzq3')).toBe(false);
  });

  it('refuses a wrong or missing prefix', () => {
    const key = generateApiKey();
    const body = key.slice(API_KEY_PREFIX.length);
    for (const prefix of [
      'sk_test_',
      'pk_live_',
      'SK_LIVE_',
      'sk-live-',
      'sk_live',
      'sklive_',
      '',
    ]) {
      expect(isWellFormedApiKey(`${prefix}${body}`)).toBe(false);
    }
  });

  it('refuses a key with a character added or removed', () => {
    const key = generateApiKey();
    expect(isWellFormedApiKey(`${key}a`)).toBe(false);
    expect(isWellFormedApiKey(`a${key}`)).toBe(false);
    expect(isWellFormedApiKey(key.slice(0, -1))).toBe(false);
    expect(isWellFormedApiKey(withCharAt(key, API_KEY_PREFIX.length, ''))).toBe(false);
    expect(isWellFormedApiKey(`${key.slice(0, 20)}0${key.slice(20)}`)).toBe(false);
  });

  it('refuses surrounding whitespace', () => {
    const key = generateApiKey();
    expect(isWellFormedApiKey(` ${key}`)).toBe(false);
    expect(isWellFormedApiKey(`${key} `)).toBe(false);
    expect(isWellFormedApiKey(`${key}\n`)).toBe(false);
  });

  it('refuses non-base62 characters anywhere in the body', () => {
    const key = generateApiKey();
    for (const bad of ['_', '-', '+', '/', '=', ' ', '.', 'é', '\u0000']) {
      expect(isWellFormedApiKey(withCharAt(key, API_KEY_PREFIX.length, bad))).toBe(false);
      expect(isWellFormedApiKey(withCharAt(key, key.length - 1, bad))).toBe(false);
      expect(isWellFormedApiKey(withCharAt(key, API_KEY_PREFIX.length + 20, bad))).toBe(false);
    }
  });

  it('refuses empty and prefix-only strings', () => {
    expect(isWellFormedApiKey('')).toBe(false);
    expect(isWellFormedApiKey('sk_live_')).toBe(false);
  });
});

describe('hashApiKey', () => {
  it('is the SHA-256 of the whole secret, as 64 lowercase hex characters', () => {
    const key = generateApiKey();
    const hash = hashApiKey(key);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(createHash('sha256').update(key).digest('hex'));
  });

  it('matches a known SHA-256 vector', () => {
    expect(hashApiKey('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('is deterministic and distinguishes different keys', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(hashApiKey(a)).toBe(hashApiKey(a));
    expect(hashApiKey(a)).not.toBe(hashApiKey(b));
  });
});

describe('lastFour and redactApiKey', () => {
  it('keeps the last four characters of the secret', () => {
    const key = generateApiKey();
    expect(lastFour(key)).toBe(key.slice(key.length - 4));
    expect(lastFour(key)).toHaveLength(4);
    expect(lastFour('abcdefgh')).toBe('efgh');
  });

  it('redacts to the prefix, an ellipsis and the last four', () => {
    const key = generateApiKey();
    const redacted = redactApiKey(lastFour(key));
    expect(redacted).toBe(`sk_live_…${key.slice(-4)}`);
    expect(redacted).toHaveLength('sk_live_…'.length + 4);
    expect(isWellFormedApiKey(redacted)).toBe(false);
    expect(redactApiKey('wxyz')).toBe('sk_live_…wxyz');
  });
});
