import {
  createKeyBody,
  createProjectBody,
  keyIdParam,
  listKeysQuery,
  listQuery,
  updateMemberBody,
} from './schemas';
import { MEMBER_ROLES } from './resources';
import { newId } from './ids';
import { SCOPES } from './scopes';

type Result = { success: boolean; error?: { issues: { path: PropertyKey[] }[] } };

/** The distinct paths of the issues of a failed parse, in order. */
function failedPaths(result: Result): string[] {
  expect(result.success).toBe(false);
  return [...new Set((result.error?.issues ?? []).map((i) => i.path.join('.')))];
}

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

describe('createProjectBody', () => {
  it('accepts a name and a region', () => {
    expect(createProjectBody.parse({ name: 'edge-ingest', region: 'us-east' })).toEqual({
      name: 'edge-ingest',
      region: 'us-east',
    });
  });

  it('trims the name', () => {
    expect(createProjectBody.parse({ name: '  edge ingest \t', region: 'us-east' }).name).toBe(
      'edge ingest',
    );
  });

  it('rejects an unknown field, naming it', () => {
    const result = createProjectBody.safeParse({ name: 'a', region: 'us-east', owner: 'me' });
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0];
    expect(issue.code).toBe('unrecognized_keys');
    expect(issue.code === 'unrecognized_keys' && issue.keys).toEqual(['owner']);
  });

  it.each([[''], ['   '], ['\t\n']])('rejects the empty name %p', (name) => {
    const result = createProjectBody.safeParse({ name, region: 'us-east' });
    expect(failedPaths(result)).toContain('name');
    expect(result.error!.issues[0].message).toBe('must not be empty');
  });

  it('accepts 100 characters and rejects 101', () => {
    expect(createProjectBody.safeParse({ name: 'a'.repeat(100), region: 'r' }).success).toBe(true);
    const result = createProjectBody.safeParse({ name: 'a'.repeat(101), region: 'r' });
    expect(failedPaths(result)).toEqual(['name']);
    expect(result.error!.issues[0].message).toBe('must be at most 100 characters');
  });

  it('measures the length after trimming', () => {
    const name = ` ${'a'.repeat(100)} `;
    expect(createProjectBody.parse({ name, region: 'r' }).name).toBe('a'.repeat(100));
  });

  it.each([['a\nb'], ['a\tb'], ['a\u001bb'], ['a\u007fb'], ['a\rb'], ['a\u0085b']])(
    'rejects the control character in %p',
    (name) => {
      const result = createProjectBody.safeParse({ name, region: 'r' });
      expect(failedPaths(result)).toEqual(['name']);
      expect(result.error!.issues[0].message).toBe('must not contain control characters');
    },
  );

  it.each([
    ['name', { name: 'a\u0000b', region: 'r' }, 'must not contain NUL characters'],
    ['region', { name: 'a', region: 'us\u0000east' }, 'must not contain NUL characters'],
    ['name', { name: 'a\ud800b', region: 'r' }, 'must be valid Unicode'],
  ])('refuses what Postgres cannot store, in %s', (field, body, message) => {
    const result = createProjectBody.safeParse(body);
    expect(failedPaths(result)).toEqual([field]);
    expect(result.error!.issues[0].message).toBe(message);
  });

  it('accepts non-ASCII names', () => {
    expect(createProjectBody.parse({ name: 'Café ✓ 日本', region: 'r' }).name).toBe('Café ✓ 日本');
  });

  it('rejects a non-string name', () => {
    expect(failedPaths(createProjectBody.safeParse({ name: 42, region: 'r' }))).toEqual(['name']);
  });

  it('requires both fields', () => {
    expect(failedPaths(createProjectBody.safeParse({ name: 'a' }))).toEqual(['region']);
    expect(failedPaths(createProjectBody.safeParse({ region: 'r' }))).toEqual(['name']);
  });

  it('bounds the region', () => {
    expect(failedPaths(createProjectBody.safeParse({ name: 'a', region: '' }))).toEqual(['region']);
    expect(createProjectBody.safeParse({ name: 'a', region: 'r'.repeat(64) }).success).toBe(true);
    expect(failedPaths(createProjectBody.safeParse({ name: 'a', region: 'r'.repeat(65) }))).toEqual(
      ['region'],
    );
  });

  it.each([[null], [[]], ['name'], [42]])('rejects the non-object body %p', (body) => {
    expect(failedPaths(createProjectBody.safeParse(body))).toEqual(['']);
  });
});

describe('createKeyBody', () => {
  const projectId = newId('project');

  it('accepts the minimal body', () => {
    expect(createKeyBody.parse({ project_id: projectId, name: ' ci ' })).toEqual({
      project_id: projectId,
      name: 'ci',
    });
  });

  it('accepts every optional field', () => {
    const expires = inAnHour();
    const body = {
      project_id: projectId,
      name: 'ci',
      scopes: ['projects:read', 'keys:write'],
      expires_at: expires,
      rate_limit: 100,
    };
    expect(createKeyBody.parse(body)).toEqual(body);
  });

  it.each([['key_abc'], ['prj_'], ['prj-abc'], ['abc'], [''], ['prj_ab-c']])(
    'rejects the project id %p',
    (project_id) => {
      const result = createKeyBody.safeParse({ project_id, name: 'ci' });
      expect(failedPaths(result)).toEqual(['project_id']);
      expect(result.error!.issues[0].message).toBe('must be a project id (prj_…)');
    },
  );

  it('requires project_id and name', () => {
    expect(failedPaths(createKeyBody.safeParse({ name: 'ci' }))).toEqual(['project_id']);
    expect(failedPaths(createKeyBody.safeParse({ project_id: projectId }))).toEqual(['name']);
  });

  it('rejects an unknown field', () => {
    const result = createKeyBody.safeParse({ project_id: projectId, name: 'ci', secret: 'x' });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0].code).toBe('unrecognized_keys');
  });

  it('accepts each known scope', () => {
    for (const scope of SCOPES) {
      expect(
        createKeyBody.safeParse({ project_id: projectId, name: 'ci', scopes: [scope] }).success,
      ).toBe(true);
    }
    const all = createKeyBody.parse({ project_id: projectId, name: 'ci', scopes: [...SCOPES] });
    expect(all.scopes).toEqual([...SCOPES]);
  });

  it.each([[['admin']], [['projects:read', 'projects:delete']], [['PROJECTS:READ']], [[1]]])(
    'rejects the scopes %p',
    (scopes) => {
      const paths = failedPaths(
        createKeyBody.safeParse({ project_id: projectId, name: 'ci', scopes }),
      );
      expect(paths.length).toBeGreaterThan(0);
      for (const path of paths) expect(path.startsWith('scopes')).toBe(true);
    },
  );

  it('rejects an empty scope list and a non-array', () => {
    const empty = createKeyBody.safeParse({ project_id: projectId, name: 'ci', scopes: [] });
    expect(failedPaths(empty)).toEqual(['scopes']);
    expect(empty.error!.issues[0].message).toBe('must name at least one scope');
    const str = createKeyBody.safeParse({ project_id: projectId, name: 'ci', scopes: 'keys:read' });
    expect(failedPaths(str)).toEqual(['scopes']);
  });

  it('accepts a future expires_at, in UTC or with an offset', () => {
    const parse = (expires_at: string) =>
      createKeyBody.safeParse({ project_id: projectId, name: 'ci', expires_at });
    expect(parse(inAnHour()).success).toBe(true);
    expect(parse('2999-01-01T00:00:00Z').success).toBe(true);
    expect(parse('2999-01-01T00:00:00+02:00').success).toBe(true);
  });

  it('rejects a past expires_at', () => {
    for (const expires_at of [
      new Date(Date.now() - 60_000).toISOString(),
      '2001-01-01T00:00:00Z',
    ]) {
      const result = createKeyBody.safeParse({ project_id: projectId, name: 'ci', expires_at });
      expect(failedPaths(result)).toEqual(['expires_at']);
      expect(result.error!.issues[0].message).toBe('must be in the future');
    }
  });

  it.each([
    ['2999-01-01'],
    ['2999-01-01T00:00:00'],
    ['2999-13-01T00:00:00Z'],
    ['tomorrow'],
    ['32503680000'],
    [''],
  ])('rejects the non-ISO time %p', (expires_at) => {
    const result = createKeyBody.safeParse({ project_id: projectId, name: 'ci', expires_at });
    expect(failedPaths(result)).toEqual(['expires_at']);
    expect(result.error!.issues[0].message).toBe('must be an ISO 8601 time');
  });

  it('rejects a numeric expires_at', () => {
    const result = createKeyBody.safeParse({
      project_id: projectId,
      name: 'ci',
      expires_at: Date.now() + 3_600_000,
    });
    expect(failedPaths(result)).toEqual(['expires_at']);
  });

  it('accepts rate_limit from 1 to 10 000 000 (the project limit is checked later)', () => {
    for (const rate_limit of [1, 2, 999_999, 10_000_000]) {
      expect(
        createKeyBody.parse({ project_id: projectId, name: 'ci', rate_limit }).rate_limit,
      ).toBe(rate_limit);
    }
  });

  it.each([
    [0],
    [-1],
    [10_000_001],
    [100_000_000],
    [1.5],
    [Number.NaN],
    [Infinity],
    ['10'],
    [null],
  ])('rejects the rate_limit %p', (rate_limit) => {
    const result = createKeyBody.safeParse({ project_id: projectId, name: 'ci', rate_limit });
    expect(failedPaths(result)).toEqual(['rate_limit']);
  });

  it('says a fractional rate_limit must be an integer', () => {
    const result = createKeyBody.safeParse({ project_id: projectId, name: 'ci', rate_limit: 2.5 });
    expect(result.error!.issues[0].message).toBe('must be an integer');
  });
});

describe('listQuery', () => {
  it('defaults limit to 20', () => {
    expect(listQuery.parse({})).toEqual({ limit: 20 });
  });

  it('coerces a query-string limit to a number', () => {
    expect(listQuery.parse({ limit: '5' })).toEqual({ limit: 5 });
    expect(listQuery.parse({ limit: '1' }).limit).toBe(1);
    expect(listQuery.parse({ limit: '100' }).limit).toBe(100);
    expect(listQuery.parse({ limit: 7 }).limit).toBe(7);
  });

  it.each([['0'], ['101'], ['abc'], ['-1'], ['2.5'], [0], [101], ['']])(
    'rejects the limit %p',
    (limit) => {
      expect(failedPaths(listQuery.safeParse({ limit }))).toEqual(['limit']);
    },
  );

  it('keeps starting_after and bounds it', () => {
    const id = newId('project');
    expect(listQuery.parse({ starting_after: id })).toEqual({ limit: 20, starting_after: id });
    expect(failedPaths(listQuery.safeParse({ starting_after: 'x'.repeat(101) }))).toEqual([
      'starting_after',
    ]);
  });

  it('rejects unknown query parameters', () => {
    const result = listQuery.safeParse({ limit: '5', page: '2' });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0].code).toBe('unrecognized_keys');
  });
});

describe('listKeysQuery', () => {
  it('requires a project id on top of the list query', () => {
    const id = newId('project');
    expect(listKeysQuery.parse({ project_id: id })).toEqual({ project_id: id, limit: 20 });
    expect(failedPaths(listKeysQuery.safeParse({}))).toEqual(['project_id']);
    expect(failedPaths(listKeysQuery.safeParse({ project_id: 'key_abc' }))).toEqual(['project_id']);
  });
});

describe('keyIdParam', () => {
  it('accepts a key id and rejects anything else', () => {
    const id = newId('key');
    expect(keyIdParam.parse({ id })).toEqual({ id });
    expect(failedPaths(keyIdParam.safeParse({ id: newId('project') }))).toEqual(['id']);
    expect(failedPaths(keyIdParam.safeParse({ id: 'key_a/b' }))).toEqual(['id']);
  });
});

describe('updateMemberBody', () => {
  it.each(MEMBER_ROLES)('accepts the role %s', (role) => {
    expect(updateMemberBody.parse({ role })).toEqual({ role });
  });

  it('requires a known role', () => {
    expect(failedPaths(updateMemberBody.safeParse({}))).toEqual(['role']);
    expect(failedPaths(updateMemberBody.safeParse({ role: 'superuser' }))).toEqual(['role']);
    expect(failedPaths(updateMemberBody.safeParse({ role: 'Owner' }))).toEqual(['role']);
  });

  it('rejects an unknown field, naming it', () => {
    const result = updateMemberBody.safeParse({ role: 'viewer', email: 'a@example.com' });
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0];
    expect(issue.code === 'unrecognized_keys' && issue.keys).toEqual(['email']);
  });
});
