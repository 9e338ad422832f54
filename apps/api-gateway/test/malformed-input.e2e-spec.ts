/**
 * Malformed input across every route of the gateway's OpenAPI document, generated from it: path
 * parameters with the wrong prefix or garbage, query parameters of the wrong type, unknown or
 * repeated, `limit` huge, negative and 1e309, bodies with every field of the wrong type, unknown
 * fields, `__proto__` / `constructor` / `prototype` keys at the top and nested, arrays for
 * objects, JSON nested 1000 deep, invalid UTF-8, NUL bytes, other content types, empty bodies,
 * bodies over 1 MiB. Nothing may answer 5xx; every error is the error object; the statuses the
 * contract names (400 with `param`, 413, 415) are checked. Requests that once hit a product bug
 * found here are tagged (`bug`) and asserted in the regression tests at the end.
 */
import { randomUUID } from 'node:crypto';
import {
  adminWithRetry,
  apiRequest,
  ApiResponse,
  DbSnapshotter,
  errorEnvelopeProblems,
  Tenant,
  TENANT_PASSWORD,
  TestPlatform,
} from '@cap/testing';

let platform: TestPlatform;
let db: DbSnapshotter;
let doc: any;
let alice: Tenant;
/** Alice's key for the sweep, with the highest rate limit: hundreds of requests in a minute. */
let token: string;
/** Things of Alice's that a request accidentally accepted could change: never the real ones. */
let victim: { project: string; key: string; ticket: string; invitation: string };
let dave: { id: string; email: string };
const start = new Date(Date.now() - 3_600_000).toISOString();
const end = new Date(Date.now() + 3_600_000).toISOString();

beforeAll(async () => {
  platform = await TestPlatform.start(
    ['projects-service', 'auth-server', 'usage-worker', 'api-gateway'],
    { USAGE_FLUSH_MS: '200' },
  );
  db = await DbSnapshotter.connect(platform.db.url);
  alice = await platform.tenant('alice');
  const email = `dave-${Date.now()}@example.com`;
  const user = await adminWithRetry<{ id: string }>(
    platform,
    ['create-user', '--email', email, '--name', 'dave'],
    `${TENANT_PASSWORD}\n`,
  );
  dave = { id: user.id, email };
  await platform.admin(['set-project-limit', '--project', alice.project.id, '--limit', '10000000']);
  const asAlice = async (method: string, path: string, body: unknown, status: number) => {
    const res = await apiRequest(platform.url(), method, path, { token: alice.secret, body });
    expect({ path, status: res.status }).toEqual({ path, status });
    return res.json;
  };
  token = (
    await asAlice(
      'POST',
      '/v1/keys',
      { project_id: alice.project.id, name: 'sweep', rate_limit: 10_000_000 },
      201,
    )
  ).secret;
  const project = await asAlice('POST', '/v1/projects', { name: 'victim', region: 'us-east' }, 201);
  await platform.addMember(project.id, alice.secret, dave.email, 'viewer');
  const invitation = await asAlice(
    'POST',
    `/v1/projects/${project.id}/members`,
    { email: `erin-${Date.now()}@example.com`, role: 'viewer' },
    201,
  );
  const key = await asAlice('POST', '/v1/keys', { project_id: project.id, name: 'victim' }, 201);
  const ticket = await asAlice(
    'POST',
    '/v1/support/tickets',
    { subject: 'victim', body: 'victim' },
    201,
  );
  victim = { project: project.id, key: key.id, ticket: ticket.id, invitation: invitation.id };
  doc = (await apiRequest(platform.url(), 'GET', '/v1/openapi.json')).json;
}, 120_000);

afterAll(async () => {
  await db?.close();
  await platform?.stop();
});

/** Bugs this file found (all fixed); each keeps its regression test below. */
type Bug = 'raw-url-error' | 'nul-in-postgres' | 'lone-surrogate' | 'proto-not-named';

interface Bad {
  op: string;
  kind: string;
  method: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Status wanted (any 4xx when absent); `param` the field the error must name. */
  status?: number;
  code?: string;
  param?: string;
  bug?: Bug;
}

interface Operation {
  op: string;
  method: string;
  template: string;
  pathParams: string[];
  queryParams: Array<{ name: string; schema: any }>;
  bodySchema?: any;
}

function operations(): Operation[] {
  const ops: Operation[] = [];
  for (const [template, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, operation] of Object.entries<any>(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const params: any[] = (operation.parameters ?? []).filter((p: any) => p.in);
      ops.push({
        op: `${method.toUpperCase()} ${template}`,
        method: method.toUpperCase(),
        template,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: params.filter((p) => p.in === 'query'),
        bodySchema: operation.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return ops;
}

/** Valid path parameters, query and body of each operation: what the bad requests distort. */
function validRequest(op: string): {
  path: Record<string, string>;
  query: Record<string, string>;
  body?: Record<string, unknown>;
} {
  const project = { id: victim.project };
  const table: Record<string, ReturnType<typeof validRequest>> = {
    'GET /v1/projects': { path: {}, query: {} },
    'POST /v1/projects': { path: {}, query: {}, body: { name: 'ok', region: 'us-east' } },
    'GET /v1/projects/{id}': { path: project, query: {} },
    'PATCH /v1/projects/{id}': { path: project, query: {}, body: { name: 'renamed' } },
    'DELETE /v1/projects/{id}': { path: project, query: {} },
    'GET /v1/projects/{id}/members': { path: project, query: {} },
    'POST /v1/projects/{id}/members': {
      path: project,
      query: {},
      body: { email: dave.email, role: 'viewer' },
    },
    'DELETE /v1/projects/{id}/members/{user_id}': {
      path: { ...project, user_id: dave.id },
      query: {},
    },
    'PATCH /v1/projects/{id}/members/{user_id}': {
      path: { ...project, user_id: dave.id },
      query: {},
      body: { role: 'viewer' },
    },
    'GET /v1/projects/{id}/invitations': { path: project, query: {} },
    'DELETE /v1/projects/{id}/invitations/{invitation_id}': {
      path: { ...project, invitation_id: victim.invitation },
      query: {},
    },
    'GET /v1/invitations': { path: {}, query: {} },
    'POST /v1/invitations/{id}/accept': { path: { id: victim.invitation }, query: {} },
    'POST /v1/keys': { path: {}, query: {}, body: { project_id: victim.project, name: 'k' } },
    'GET /v1/keys': { path: {}, query: { project_id: victim.project } },
    'POST /v1/keys/{id}/revoke': { path: { id: victim.key }, query: {} },
    'POST /v1/keys/{id}/rotate': {
      path: { id: victim.key },
      query: {},
      body: { grace_period_seconds: 60 },
    },
    'GET /v1/regions': { path: {}, query: {} },
    'GET /v1/usage': { path: {}, query: { project_id: victim.project, start, end } },
    'GET /v1/user': { path: {}, query: {} },
    'GET /v1/support/tickets': { path: {}, query: {} },
    'POST /v1/support/tickets': { path: {}, query: {}, body: { subject: 's', body: 'b' } },
    'GET /v1/support/tickets/{id}': { path: { id: victim.ticket }, query: {} },
    'GET /v1/oauth/clients': { path: {}, query: {} },
    'POST /v1/oauth/clients': {
      path: {},
      query: {},
      body: { name: 'app', redirect_uris: ['https://app.example.com/cb'] },
    },
    'GET /v1/openapi.json': { path: {}, query: {} },
  };
  const valid = table[op];
  if (!valid) throw new Error(`no valid request for ${op}: add one to validRequest()`);
  return valid;
}

/** `template` with its parameters filled in (values used verbatim: they may be pre-encoded). */
function fill(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (params[name] === undefined) throw new Error(`no value for {${name}} in ${template}`);
    return params[name];
  });
}

const qs = (query: Record<string, string>, raw = '') => {
  const encoded = new URLSearchParams(query).toString();
  const all = [encoded, raw].filter(Boolean).join('&');
  return all ? `?${all}` : '';
};

const WRONG_PREFIX: Record<string, string> = {
  prj_: 'key_',
  key_: 'prj_',
  usr_: 'prj_',
  tkt_: 'usr_',
  cli_: 'prj_',
  inv_: 'prj_',
};

const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
/** A JSON text: `body` with one more member, written raw (for keys JSON.stringify would drop). */
const withRaw = (body: Record<string, unknown>, member: string) =>
  `${JSON.stringify(body).slice(0, -1)}${Object.keys(body).length ? ',' : ''}${member}}`;

/** Fields whose NUL characters reach Postgres unchecked (a 500 today). */
const NUL_UNCHECKED = new Set(['POST /v1/projects region', 'POST /v1/support/tickets body']);

function wrongValues(name: string, schema: any): Array<[string, string]> {
  const type = schema.type ?? (schema.enum ? 'string' : undefined);
  const common: Array<[string, string]> = [
    ['null', 'null'],
    ['an object', '{"x":1}'],
    ['nested 1000 deep', deep(1000)],
  ];
  if (type === 'string') {
    const long = 'x'.repeat(schema.maxLength ? schema.maxLength + 1 : 100_001);
    const values: Array<[string, string]> = [
      ...common,
      ['a number', '123'],
      ['a boolean', 'true'],
      ['an array', '["x"]'],
      ['too long', JSON.stringify(long)],
      ['a very long string (200k)', JSON.stringify('y'.repeat(200_000))],
      ['empty', '""'],
      ['a prototype key', '{"__proto__":{"admin":true}}'],
    ];
    if (schema.enum) {
      values.push(['another case', JSON.stringify(String(schema.enum[0]).toUpperCase())]);
    }
    if (name.endsWith('_id'))
      values.push(['an id with the wrong prefix', '"key_' + 'a'.repeat(20) + '"']);
    return values;
  }
  if (type === 'integer' || type === 'number') {
    return [
      ...common,
      ['a string', '"5"'],
      ['a fraction', '1.5'],
      ['negative', '-1'],
      ['1e309', '1e309'],
      ['2^64', '18446744073709551616'],
      ['a boolean', 'false'],
      ['an array', '[1]'],
    ];
  }
  if (type === 'array') {
    return [
      ...common,
      ['a string', '"x"'],
      ['an array of numbers', '[1,2]'],
      ['an array of nulls', '[null]'],
      ['an array of objects with a prototype key', '[{"__proto__":{"admin":true}}]'],
      ['an array of arrays', '[["x"]]'],
      ['10000 items', JSON.stringify(Array.from({ length: 10_000 }, (_, i) => `v${i}`))],
    ];
  }
  return common;
}

/** Every bad request for one operation. */
function badRequests(o: Operation): Bad[] {
  const valid = validRequest(o.op);
  const out: Bad[] = [];
  const add = (bad: Omit<Bad, 'op' | 'method'> & { method?: string }) =>
    out.push({ op: o.op, method: o.method, ...bad });
  const path = fill(o.template, valid.path);
  const query = qs(valid.query);

  // Path parameters.
  for (const name of o.pathParams) {
    const good = valid.path[name];
    const other = (value: string) => fill(o.template, { ...valid.path, [name]: value });
    const prefix = good.slice(0, 4);
    const garbage: Array<[string, string]> = [
      ['an id with the wrong prefix', `${WRONG_PREFIX[prefix] ?? 'zzz_'}${good.slice(4)}`],
      ['an id without its prefix', good.slice(4)],
      ['a number', '12345'],
      ['__proto__', '__proto__'],
      ['constructor', 'constructor'],
      ['an encoded NUL', `${good}%00`],
      ['an encoded slash', `${prefix}a%2Fb`],
      ['an emoji', `${prefix}%F0%9F%92%A9`],
      ['99 characters', `${prefix}${'a'.repeat(95)}`],
    ];
    // With a valid body, if the route takes one: the path is the only fault.
    const body = valid.body && JSON.stringify(valid.body);
    for (const [kind, value] of garbage) {
      add({
        kind: `path ${name}: ${kind}`,
        path: `${other(value)}${query}`,
        body,
        status: 400,
        param: name,
      });
    }
    add({
      kind: `path ${name}: malformed percent-encoding`,
      path: `${other('%E0%A4%A')}${query}`,
      status: 400,
      bug: 'raw-url-error',
    });
    add({
      kind: `path ${name}: 5000 characters`,
      path: `${other(`${prefix}${'a'.repeat(5_000)}`)}${query}`,
      status: 400,
      bug: 'raw-url-error',
    });
  }

  // Query parameters (routes that take some: unknown ones are refused, naming them).
  if (o.queryParams.length) {
    const unknown: Array<[string, string, string]> = [
      ['an unknown parameter', 'zz_unknown=1', 'zz_unknown'],
      ['__proto__', '__proto__=1', '__proto__'],
      ['__proto__[admin]', '__proto__%5Badmin%5D=true', '__proto__[admin]'],
      [
        'constructor[prototype][admin]',
        'constructor[prototype][admin]=1',
        'constructor[prototype][admin]',
      ],
      ['a malformed percent-encoded name', '%E0%A4%A=1', '%E0%A4%A'],
    ];
    for (const [kind, raw, param] of unknown) {
      add({ kind: `query: ${kind}`, path: `${path}${qs(valid.query, raw)}`, status: 400, param });
    }
  }
  for (const { name, schema } of o.queryParams) {
    const values: string[] = [];
    if (name === 'limit') {
      values.push('0', '-1', '101', '1e309', '99999999999999999999999', 'abc', '1.5', '');
      values.push('NaN', 'Infinity', '-Infinity', '%E0%A4%A', '%00', '1%00');
    } else if (name === 'starting_after') {
      values.push('a'.repeat(101), 'key_aaaaaaaaaaaaaaaaaaaa', '%E0%A4%A');
    } else if (name === 'project_id') {
      values.push('key_aaaaaaaaaaaaaaaaaaaa', 'prj_', 'x', '%E0%A4%A', '');
    } else if (name === 'start' || name === 'end') {
      values.push('yesterday', '1e309', '2026-13-45T00:00:00Z', '0', '%E0%A4%A');
    } else if (schema.enum) {
      values.push(String(schema.enum[0]).toUpperCase(), 'zz', '');
    } else {
      values.push('%E0%A4%A');
    }
    for (const value of values) {
      const q = { ...valid.query };
      delete q[name];
      add({
        kind: `query ${name}=${value.slice(0, 16)}`,
        path: `${path}${qs(q, `${name}=${value}`)}`,
        status: 400,
        param: name,
      });
    }
    const once = `${name}=${encodeURIComponent(valid.query[name] ?? '5')}`;
    const rest = { ...valid.query };
    delete rest[name];
    add({
      kind: `query ${name} twice`,
      path: `${path}${qs(rest, `${once}&${once}`)}`,
      status: 400,
      param: name,
    });
    if (name === 'starting_after') {
      add({
        kind: 'query starting_after NUL',
        path: `${path}${qs(valid.query, 'starting_after=%00')}`,
        status: 400,
        param: name,
        bug: 'nul-in-postgres',
      });
    }
  }
  for (const name of o.queryParams
    .filter((p) => p.schema && valid.query[p.name])
    .map((p) => p.name)) {
    const q = { ...valid.query };
    delete q[name];
    add({ kind: `query ${name} missing`, path: `${path}${qs(q)}`, status: 400, param: name });
  }
  if (o.method === 'GET' && !o.queryParams.length) {
    // Routes without query parameters: no 5xx whatever is appended (lenient is allowed).
    add({
      kind: 'query: unknown on a route without any',
      path: `${path}?zz_unknown=1&limit=1e309`,
    });
    add({ kind: 'query: malformed percent-encoding', path: `${path}?x=%E0%A4%A` });
  }

  if (o.method === 'GET' || o.method === 'DELETE') return out;

  // Bodies.
  const json = { 'Content-Type': 'application/json' };
  const base = valid.body;
  const raw = (kind: string, body: string | Buffer, extra: Partial<Bad> = {}) =>
    add({ kind, path: `${path}${query}`, body, headers: json, status: 400, ...extra });
  raw('body: empty with Content-Type: application/json', '');
  raw('body: over 1 MiB', JSON.stringify({ ...base, pad: 'p'.repeat(1024 * 1024) }), {
    status: 413,
    code: 'payload_too_large',
  });
  raw('body: 2 MiB of whitespace', `${' '.repeat(2 * 1024 * 1024)}{}`, {
    status: 413,
    code: 'payload_too_large',
  });
  for (const type of [
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/octet-stream',
    'text/json',
  ]) {
    add({
      kind: `content type ${type}`,
      path: `${path}${query}`,
      body: type.includes('form-urlencoded') ? 'name=x&region=us-east' : JSON.stringify(base ?? {}),
      headers: { 'Content-Type': type },
      status: 415,
      code: 'unsupported_media_type',
    });
  }
  add({
    kind: 'content type: none, bytes sent',
    path: `${path}${query}`,
    body: Buffer.from(JSON.stringify(base ?? {})),
    status: 415,
    code: 'unsupported_media_type',
  });
  const invalidUtf8: Array<[string, number[]]> = [
    ['a 0xFF byte', [0xff]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a truncated sequence', [0xe0, 0xa4]],
    ['a lone continuation byte', [0x80]],
  ];
  for (const [kind, bytes] of invalidUtf8) {
    const text = JSON.stringify(base ?? { x: 'v' });
    // Inside the first key, before its closing quote.
    const at = text.indexOf('"', 2);
    const body = Buffer.concat([
      Buffer.from(text.slice(0, at)),
      Buffer.from(bytes),
      Buffer.from(text.slice(at)),
    ]);
    raw(`body: invalid UTF-8, ${kind}`, body, { code: 'invalid_json' });
  }
  raw('body: a raw NUL byte between tokens', `{\u0000${JSON.stringify(base ?? {}).slice(1)}`, {
    code: 'invalid_json',
  });
  raw('body: a raw NUL byte inside a string', '{"name":"a\u0000b"}', { code: 'invalid_json' });
  raw('body: truncated JSON', JSON.stringify(base ?? {}).slice(0, -1), { code: 'invalid_json' });
  raw('body: JSON with a trailing comma', '{"a":1,}', { code: 'invalid_json' });
  if (!base) {
    // A POST without a body schema (revoke): parsed JSON is not looked at, so only what fails
    // before parsing is sent; the rest would revoke.
    return out;
  }
  for (const [kind, text] of [
    ['an array where an object is expected', JSON.stringify([base ?? {}])],
    ['null', 'null'],
    ['a string', '"x"'],
    ['a number', '1'],
    ['true', 'true'],
    ['nested arrays 1000 deep', deep(1000)],
    ['nested objects 1000 deep', deepObject(1000)],
    ['nested arrays 100000 deep', deep(100_000)],
  ] as Array<[string, string]>) {
    raw(`body: ${kind}`, text);
  }
  raw('body: an unknown field', JSON.stringify({ ...base, zz_unknown: 1 }), {
    code: 'invalid_request',
    param: 'zz_unknown',
  });
  raw('body: an unknown field nested 1000 deep', withRaw(base, `"zz_deep":${deepObject(1000)}`), {
    code: 'invalid_request',
    param: 'zz_deep',
  });
  for (const key of ['id', 'owner', 'created_at', 'rate_limit', 'user_id', 'role', 'secret']) {
    if (key in (o.bodySchema?.properties ?? {})) continue;
    raw(`body: mass assignment of ${key}`, JSON.stringify({ ...base, [key]: 'x' }), {
      code: 'invalid_request',
      param: key,
    });
  }
  raw('body: "__proto__" at the top', withRaw(base, '"__proto__":{"admin":true}'), {
    bug: 'proto-not-named',
    param: '__proto__',
  });
  raw(
    'body: "constructor" at the top',
    withRaw(base, '"constructor":{"prototype":{"admin":true}}'),
    {
      bug: 'proto-not-named',
      param: 'constructor',
    },
  );
  raw('body: "prototype" at the top', withRaw(base, '"prototype":{"admin":true}'), {
    code: 'invalid_request',
    param: 'prototype',
  });
  raw('body: "__proto__" only', '{"__proto__":{"name":"x","region":"us-east"}}');
  raw('body: "__proto__" nested', withRaw(base, '"zz":{"__proto__":{"admin":true}}'));
  raw(
    'body: "constructor.prototype" nested',
    withRaw(base, '"zz":{"constructor":{"prototype":{"a":1}}}'),
  );

  // Every field of the schema, with values of the wrong type or shape.
  for (const [name, schema] of Object.entries<any>(o.bodySchema?.properties ?? {})) {
    for (const [kind, value] of wrongValues(name, schema)) {
      const rest = Object.fromEntries(Object.entries(base).filter(([k]) => k !== name));
      // A prototype key anywhere is refused by the JSON parser (see the failing test).
      const proto = kind.includes('prototype');
      raw(`field ${name}: ${kind}`, withRaw(rest, `${JSON.stringify(name)}:${value}`), {
        code: proto ? undefined : 'invalid_request',
        param: proto ? undefined : name,
      });
    }
    if (schema.type === 'string' || schema.enum) {
      raw(
        `field ${name}: a NUL character`,
        withRaw(
          Object.fromEntries(Object.entries(base).filter(([k]) => k !== name)),
          `${JSON.stringify(name)}:"a\\u0000b"`,
        ),
        {
          code: 'invalid_request',
          param: name,
          bug: NUL_UNCHECKED.has(`${o.op} ${name}`) ? 'nul-in-postgres' : undefined,
        },
      );
    }
    if (schema.type === 'array' && schema.items?.type === 'string' && !schema.items.enum) {
      raw(
        `field ${name}: a lone surrogate in an item`,
        withRaw(
          Object.fromEntries(Object.entries(base).filter(([k]) => k !== name)),
          `${JSON.stringify(name)}:["https://app.example.com/\\ud800"]`,
        ),
        {
          code: 'invalid_request',
          param: name,
          bug: o.op === 'POST /v1/oauth/clients' ? 'lone-surrogate' : undefined,
        },
      );
    }
  }
  return out;
}

let sweep: Array<{ bad: Bad; res: ApiResponse }> = [];

async function send(bad: Bad): Promise<ApiResponse> {
  return apiRequest(platform.url(), bad.method, bad.path, {
    token,
    body: bad.body,
    headers: bad.headers,
    timeoutMs: 30_000,
  });
}

/** What is wrong with one answer, given what the bad request expects. */
function mismatch(bad: Bad, res: ApiResponse, strict: boolean): string | undefined {
  const where = `${bad.op} [${bad.kind}] ${bad.method} ${bad.path.slice(0, 120)}`;
  const got = `${res.status} ${res.text.slice(0, 200)}`;
  if (res.status >= 500) return `${where}: 5xx ${got}`;
  if (res.status >= 300 || bad.status !== undefined) {
    const problems = errorEnvelopeProblems(res);
    if (problems.length) return `${where}: ${problems.join('; ')}`;
  }
  if (!strict) return undefined;
  if (bad.status !== undefined && res.status !== bad.status)
    return `${where}: want ${bad.status}, got ${got}`;
  if (bad.code !== undefined && res.json?.error?.code !== bad.code) {
    return `${where}: want code ${bad.code}, got ${got}`;
  }
  if (bad.param !== undefined && !String(res.json?.error?.param ?? '').startsWith(bad.param)) {
    return `${where}: want param ${bad.param}, got ${got}`;
  }
  return undefined;
}

describe('the generated sweep', () => {
  it('generates at least 150 bad requests, covering every operation of the document', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThanOrEqual(21);
    const all = ops.flatMap(badRequests);
    const perOp = new Map(ops.map((o) => [o.op, all.filter((b) => b.op === o.op).length]));
    expect([...perOp].filter(([, n]) => n === 0)).toEqual([]);
    expect(all.length).toBeGreaterThanOrEqual(150);
  });

  it('no 5xx, every error the error object, and the statuses the contract names', async () => {
    const bads = operations().flatMap(badRequests);
    const counts = {
      before: {
        projects: await db.count('projects'),
        api_keys: await db.count('api_keys'),
        support_tickets: await db.count('support_tickets'),
        oauth_clients: await db.count('oauth_clients'),
        memberships: await db.count('memberships'),
        invitations: await db.count('invitations'),
      },
    };
    const started = Date.now();
    sweep = [];
    for (const bad of bads) {
      if (Date.now() - started > 240_000) throw new Error('the sweep took over 4 minutes');
      if (bad.bug) continue;
      sweep.push({ bad, res: await send(bad) });
    }
    const failures = sweep
      .map(({ bad, res }) => mismatch(bad, res, true))
      .filter((m): m is string => m !== undefined);

    // Summary: statuses seen, by kind of input.
    const byStatus: Record<string, number> = {};
    const byKind: Record<string, Record<number, number>> = {};
    for (const { bad, res } of sweep) {
      byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
      const kind = bad.kind.replace(/^(path|query|field) [^:]*: /, '$1: ').replace(/=.*/, '');
      byKind[kind] ??= {};
      byKind[kind][res.status] = (byKind[kind][res.status] ?? 0) + 1;
    }
    const skipped = bads.filter((b) => b.bug).length;
    process.stdout.write(
      `malformed input: ${sweep.length} requests over ${operations().length} operations in ` +
        `${Date.now() - started} ms (${skipped} more, hitting known bugs, in the failing tests)\n` +
        `statuses: ${JSON.stringify(byStatus)}\n` +
        Object.entries(byKind)
          .map(([k, s]) => `  ${k.padEnd(60)} ${JSON.stringify(s)}`)
          .join('\n') +
        '\n',
    );

    expect(failures).toEqual([]);
    expect(sweep.length).toBeGreaterThanOrEqual(150);
    expect(Object.keys(byStatus).filter((s) => Number(s) >= 500)).toEqual([]);
    // Nothing refused was stored.
    const after = {
      projects: await db.count('projects'),
      api_keys: await db.count('api_keys'),
      support_tickets: await db.count('support_tickets'),
      oauth_clients: await db.count('oauth_clients'),
      memberships: await db.count('memberships'),
      invitations: await db.count('invitations'),
    };
    expect(after).toEqual(counts.before);
  }, 300_000);

  it('the named statuses: invalid UTF-8 400, unknown field 400 naming it, 415, 413', () => {
    expect(sweep.length).toBeGreaterThan(0);
    const of = (prefix: string) => sweep.filter(({ bad }) => bad.kind.startsWith(prefix));
    const utf8 = of('body: invalid UTF-8');
    expect(utf8.length).toBeGreaterThanOrEqual(5);
    for (const { res } of utf8)
      expect([res.status, res.json.error.code]).toEqual([400, 'invalid_json']);
    const unknown = of('body: an unknown field');
    expect(unknown.length).toBeGreaterThanOrEqual(5);
    for (const { res } of unknown) {
      expect(res.status).toBe(400);
      expect(res.json.error.param).toMatch(/^zz_/);
    }
    const media = of('content type');
    expect(media.length).toBeGreaterThanOrEqual(35);
    for (const { res } of media) expect(res.status).toBe(415);
    const big = of('body: over 1 MiB');
    expect(big.length).toBeGreaterThanOrEqual(6);
    for (const { res } of big)
      expect([res.status, res.json.error.code]).toEqual([413, 'payload_too_large']);
  });
});

describe('after the sweep', () => {
  it('the gateway still behaves: Alice’s keys work, her lists are whole', async () => {
    for (const key of [alice.secret, token]) {
      const res = await apiRequest(platform.url(), 'GET', '/v1/projects', { token: key });
      expect(res.status).toBe(200);
      expect(res.json.data.map((p: { name: string }) => p.name).sort()).toEqual([
        'alice-project',
        'victim',
      ]);
    }
    const keys = await apiRequest(platform.url(), 'GET', `/v1/keys?project_id=${victim.project}`, {
      token,
    });
    expect(keys.json.data).toEqual([
      expect.objectContaining({ id: victim.key, revoked_at: null, name: 'victim' }),
    ]);
  });

  it.each([
    ['POST /v1/projects', '/v1/projects', { name: 'x', region: 'us-east' }],
    ['POST /v1/keys', '/v1/keys', () => ({ project_id: victim.project, name: 'x' })],
  ] as Array<[string, string, unknown]>)(
    '%s with "__proto__": {"admin": true, ...} is refused (400) or makes a plain resource',
    async (_label, path, made) => {
      const base = typeof made === 'function' ? (made as () => Record<string, unknown>)() : made;
      const poison =
        '"__proto__":{"admin":true,"rate_limit":1,"scopes":["projects:read"],"id":"prj_x"}';
      const res = await apiRequest(platform.url(), 'POST', path, {
        token,
        body: withRaw(base as Record<string, unknown>, poison),
      });
      if (res.status === 201) {
        expect(Object.keys(res.json).sort()).not.toContain('admin');
        if (path === '/v1/keys')
          expect(res.json).toMatchObject({
            rate_limit: null,
            scopes: expect.arrayContaining(['keys:write']),
          });
        const again = await apiRequest(platform.url(), 'GET', '/v1/projects', { token });
        expect(JSON.stringify(again.json)).not.toContain('admin');
      } else {
        expect(res.status).toBe(400);
        expect(errorEnvelopeProblems(res)).toEqual([]);
      }
      // The next ordinary request is unaffected.
      const next = await apiRequest(platform.url(), 'POST', '/v1/projects', {
        token,
        body: { name: `plain-${randomUUID().slice(0, 6)}`, region: 'us-east' },
      });
      expect(next.status).toBe(201);
      expect(Object.keys(next.json).sort()).toEqual(['created_at', 'id', 'name', 'region']);
      await apiRequest(platform.url(), 'DELETE', `/v1/projects/${next.json.id}`, { token });
    },
  );
});

/** The bad requests of one bug, sent now, with the contract's expectation. */
async function bugMismatches(bug: Bug): Promise<{ sent: number; failures: string[] }> {
  const bads = operations()
    .flatMap(badRequests)
    .filter((b) => b.bug === bug);
  const failures: string[] = [];
  for (const bad of bads) {
    const m = mismatch(bad, await send(bad), true);
    if (m) failures.push(m);
  }
  return { sent: bads.length, failures };
}

describe('regressions: bugs the sweep found, fixed', () => {
  // libs/observability/src/http.ts: fastifyOptions() sets no `frameworkErrors`, so Fastify
  // answers a path with malformed percent-encoding (FST_ERR_BAD_URL, 400) or a path parameter
  // over 100 characters (FST_ERR_MAX_PARAM_LENGTH, 414) itself: its own body, no Request-Id,
  // the path echoed back. Fix: a `frameworkErrors` handler sending the error object.
  it('malformed percent-encoding or a 5000-character id in the path: 400 error object', async () => {
    const { sent, failures } = await bugMismatches('raw-url-error');
    expect(sent).toBeGreaterThanOrEqual(10);
    expect(failures).toEqual([]);
  });

  // Strings with U+0000 pass the gateway's validation where a field has no control-character
  // rule (ticket `body`, project `region`, every `starting_after`); Postgres refuses NUL in text
  // (22021) and the services answer 500. Fix: refuse U+0000 in every string at the gateway
  // (libs/contracts/src/schemas.ts), and validate `starting_after` as an id of the listed kind.
  it('a NUL character in a string field or cursor is 400, not 500', async () => {
    const { sent, failures } = await bugMismatches('nul-in-postgres');
    expect(sent).toBeGreaterThanOrEqual(6);
    expect(failures).toEqual([]);
  });

  // A lone surrogate escape ("\ud800") in `redirect_uris` reaches auth-server's Prisma insert
  // of a String[] column, which fails to serialise it (P2xxx "unexpected end of hex escape"):
  // 500. Fix: refuse strings that are not well-formed Unicode (String.prototype.isWellFormed)
  // at the gateway; elsewhere they are silently stored as U+FFFD.
  it('a lone surrogate in redirect_uris is 400, not 500', async () => {
    const { sent, failures } = await bugMismatches('lone-surrogate');
    expect(sent).toBeGreaterThanOrEqual(1);
    expect(failures).toEqual([]);
  });

  // libs/observability/src/http.ts: Fastify's secure JSON parser refuses `__proto__` and
  // `constructor.prototype` keys, but the error becomes `invalid_json` "The request body is not
  // valid JSON." without `param` — the body is valid JSON; the client is told the wrong thing.
  // Fix: map that parser error to `invalid_request` with `param: "__proto__"` / "constructor".
  it('a "__proto__" or "constructor" key is refused naming the field', async () => {
    const { sent, failures } = await bugMismatches('proto-not-named');
    expect(sent).toBeGreaterThanOrEqual(10);
    expect(failures).toEqual([]);
  });

  // Routes without a body schema (POST /v1/keys/{id}/revoke, DELETE /v1/projects/{id},
  // DELETE /v1/projects/{id}/members/{user_id}) ignore whatever body is sent: `{"zz": 1}` is
  // not refused and the action runs. Unknown fields must be 400 naming the field. Fix: a
  // strict empty body schema on those handlers (`z.strictObject({}).optional()`).
  it('a body with fields on a route that takes none is 400 naming the field', async () => {
    const project = await apiRequest(platform.url(), 'POST', '/v1/projects', {
      token,
      body: { name: 'no-body', region: 'us-east' },
    });
    const key = await apiRequest(platform.url(), 'POST', '/v1/keys', {
      token,
      body: { project_id: project.json.id, name: 'no-body' },
    });
    expect([project.status, key.status]).toEqual([201, 201]);
    await platform.addMember(project.json.id, token, dave.email, 'viewer');
    const attempts = [
      ['POST', `/v1/keys/${key.json.id}/revoke`],
      ['DELETE', `/v1/projects/${project.json.id}/members/${dave.id}`],
      ['DELETE', `/v1/projects/${project.json.id}`],
    ];
    const failures: string[] = [];
    for (const [method, path] of attempts) {
      const res = await apiRequest(platform.url(), method, path, {
        token,
        body: { zz_unknown: 1 },
      });
      if (res.status !== 400 || res.json?.error?.param !== 'zz_unknown') {
        failures.push(`${method} ${path}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
