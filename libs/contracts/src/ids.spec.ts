import { ID_PREFIX, IdKind, isId, newId, randomBase62 } from './ids';

const KINDS = Object.keys(ID_PREFIX) as IdKind[];

describe('randomBase62', () => {
  it.each([[0], [1], [6], [20], [32], [100], [1000]])('returns exactly %i characters', (n) => {
    expect(randomBase62(n)).toHaveLength(n);
  });

  it('uses only base62 characters', () => {
    for (let i = 0; i < 100; i++) expect(randomBase62(64)).toMatch(/^[0-9A-Za-z]{64}$/);
  });

  it('uses every character of the alphabet, roughly evenly', () => {
    const counts = new Map<string, number>();
    const sample = randomBase62(620_000);
    for (const c of sample) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // 10 000 expected per character (σ ≈ 100); keeping bytes 248..255 would bias '0'..'7'
    // to about 12 100 and every other character to about 9 700.
    for (const n of counts.values()) {
      expect(n).toBeGreaterThan(9_400);
      expect(n).toBeLessThan(10_600);
    }
  });

  it('does not repeat itself', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) seen.add(randomBase62(16));
    expect(seen.size).toBe(5_000);
  });
});

describe('newId', () => {
  it('uses the prefix of each kind', () => {
    expect(ID_PREFIX).toEqual({
      project: 'prj',
      key: 'key',
      user: 'usr',
      client: 'cli',
      ticket: 'tkt',
      invitation: 'inv',
      request: 'req',
      deadLetter: 'dlq',
    });
  });

  it.each(KINDS.map((kind) => [kind]))('makes %s ids as prefix_ + 20 base62', (kind) => {
    const id = newId(kind);
    expect(id).toMatch(new RegExp(`^${ID_PREFIX[kind]}_[0-9A-Za-z]{20}$`));
    expect(isId(kind, id)).toBe(true);
  });

  it('makes a fresh id every time', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5_000; i++) ids.add(newId('project'));
    expect(ids.size).toBe(5_000);
  });
});

describe('isId', () => {
  it('accepts an id of its own kind only', () => {
    const project = newId('project');
    expect(isId('project', project)).toBe(true);
    for (const kind of KINDS.filter((k) => k !== 'project')) {
      expect(isId(kind, project)).toBe(false);
    }
  });

  it('accepts bodies of 1 to 64 base62 characters', () => {
    expect(isId('key', 'key_a')).toBe(true);
    expect(isId('key', `key_${'a'.repeat(64)}`)).toBe(true);
  });

  it.each([
    [''],
    ['key'],
    ['key_'],
    ['key-abc'],
    ['KEY_abc'],
    ['keyabc'],
    [' key_abc'],
    ['key_abc '],
    ['key_ab-c'],
    ['key_ab_c'],
    ['key_ab/c'],
    ['key_abcé'],
    [`key_${'a'.repeat(65)}`],
    ['prj_abc'],
  ])('rejects %p as a key id', (value) => {
    expect(isId('key', value)).toBe(false);
  });
});
