/**
 * The SDKs against the platform's contract: the generated files are what the generator makes
 * now from the gateway's OpenAPI document and the error table, and both SDKs' resource tables
 * name every operation of the document, and nothing else but the announced (pending) ones.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES as PLATFORM_ERROR_CODES, httpStatusOf } from '@cap/contracts';
import {
  CloudApi,
  ERROR_CODES,
  HTTP_STATUS_OF_CODE,
  OPERATIONS,
  PENDING_FIELDS,
  PENDING_OPERATIONS,
  RESOURCE_METHODS,
} from '../src/index';
import { generatedFiles, operationsOf, SDKS_ROOT } from '../scripts/generate';
import { openApiDocument } from '../scripts/openapi-document';

const doc = openApiDocument();
const documented = operationsOf(doc);
const documentedIds = new Set(documented.map((o) => o.id));
const REGENERATE = 'run `npm run -s sdk:generate` and commit the result';

/** `resource.method` → operationId, for one SDK's table. */
function flatten(table: Record<string, Record<string, string>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [resource, methods] of Object.entries(table)) {
    for (const [method, op] of Object.entries(methods)) out.set(`${resource}.${method}`, op);
  }
  return out;
}

function pythonTables(): {
  methods: Record<string, Record<string, string>>;
  pending: Record<string, [string, string]>;
  missing: string[];
} {
  const script = [
    'import json',
    'from cloud_api import CloudApi',
    'from cloud_api._resources import RESOURCE_METHODS',
    'from cloud_api._pending import PENDING_OPERATIONS',
    "api = CloudApi(api_key='sk_test')",
    'missing = [r + "." + m for r, ms in RESOURCE_METHODS.items() for m in ms',
    '           if not callable(getattr(getattr(api, r, None), m, None))]',
    'print(json.dumps({"methods": RESOURCE_METHODS, "pending": PENDING_OPERATIONS,',
    '                  "missing": missing}))',
  ].join('\n');
  const out = execFileSync('python3', ['-c', script], {
    cwd: join(SDKS_ROOT, 'python'),
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

describe('the SDKs against the OpenAPI document and the error table', () => {
  it.each(Object.keys(generatedFiles(doc)))('sdks/%s is up to date', (path) => {
    const expected = generatedFiles(doc)[path];
    const actual = readFileSync(join(SDKS_ROOT, path), 'utf8');
    if (actual !== expected) throw new Error(`sdks/${path} is stale: ${REGENERATE}.`);
  });

  it('the JS error codes are the platform table, with its statuses', () => {
    expect([...ERROR_CODES]).toEqual([...PLATFORM_ERROR_CODES]);
    for (const code of PLATFORM_ERROR_CODES) {
      expect(HTTP_STATUS_OF_CODE[code]).toBe(httpStatusOf(code));
    }
  });

  it('every operation of the document has exactly one JS method, and every method an operation', () => {
    const methods = flatten(RESOURCE_METHODS);
    const byOp = new Map<string, string[]>();
    for (const [method, op] of methods) byOp.set(op, [...(byOp.get(op) ?? []), method]);
    const withoutMethod = [...documentedIds].filter((id) => !byOp.has(id));
    expect({ withoutMethod }).toEqual({ withoutMethod: [] });
    expect([...byOp].filter(([, m]) => m.length > 1)).toEqual([]);
    const unknown = [...methods].filter(
      ([, op]) => !documentedIds.has(op) && !(op in PENDING_OPERATIONS),
    );
    expect(unknown).toEqual([]);
    // The table the requests are sent from is the document's.
    for (const o of documented) {
      expect(OPERATIONS[o.id as keyof typeof OPERATIONS]).toEqual({
        method: o.method,
        path: o.path,
      });
    }
  });

  it('each JS method of the table exists on the client', () => {
    const api = new CloudApi({ apiKey: 'sk_test' }) as unknown as Record<
      string,
      Record<string, unknown>
    >;
    const missing = [...flatten(RESOURCE_METHODS).keys()].filter((m) => {
      const [resource, method] = m.split('.');
      return typeof api[resource]?.[method] !== 'function';
    });
    expect(missing).toEqual([]);
  });

  it('announced (pending) operations and fields are not in the document yet', () => {
    // When one lands: regenerate, then delete it from sdks/js/src/pending.ts and
    // sdks/python/cloud_api/_pending.py (its generated types replace the hand-written ones).
    const landed = Object.keys(PENDING_OPERATIONS).filter((id) => documentedIds.has(id));
    expect({ landed }).toEqual({ landed: [] });
    for (const [id, fields] of Object.entries(PENDING_FIELDS)) {
      const op = documented.find((o) => o.id === id)!;
      const body = op.op.requestBody?.content['application/json'].schema.properties ?? {};
      expect({ id, landed: fields.filter((f) => f in body) }).toEqual({ id, landed: [] });
    }
  });

  it('the Python SDK has a method for every operation, and only for those', () => {
    const py = pythonTables();
    expect(py.missing).toEqual([]);
    const methods = flatten(py.methods);
    const ops = new Set(methods.values());
    expect([...documentedIds].filter((id) => !ops.has(id))).toEqual([]);
    expect([...ops].filter((op) => !documentedIds.has(op) && !(op in py.pending))).toEqual([]);
    expect(methods.size).toBe(ops.size);
    // Both SDKs announce the same operations, at the same method and path.
    expect(py.pending).toEqual(
      Object.fromEntries(
        Object.entries(PENDING_OPERATIONS).map(([id, o]) => [id, [o.method, o.path]]),
      ),
    );
    // …and name the same operations (the resource names follow each language's case).
    expect([...ops].sort()).toEqual([...new Set(flatten(RESOURCE_METHODS).values())].sort());
  });
});
