import { request as httpsRequest } from 'node:https';
import { isErrorCode } from '@cap/contracts';

/** One answer of the public API, read whole: status, headers, raw text and parsed JSON. */
export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or `undefined` when it is not JSON (tests check it field by field). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export interface ApiRequestOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * A string or Buffer is sent as is; anything else as JSON. Without a `Content-Type` header,
   * `application/json` is sent with a string or JSON body, and none with a Buffer.
   */
  body?: unknown;
  headers?: Record<string, string>;
  /** Aborts the request after this many milliseconds (default 15 s). */
  timeoutMs?: number;
  /** For an `https` base: the CA (PEM) to trust, such as a test's self-signed certificate. */
  ca?: string | Buffer;
}

/**
 * `fetch` for `https` URLs that trusts `ca` besides the usual roots (Node's own `fetch` takes no
 * CA, and NODE_EXTRA_CA_CERTS is read only when a process starts). Never follows redirects, as
 * `redirect: 'manual'`; the answer is a standard `Response`.
 */
export function fetchTrusting(ca: string | Buffer) {
  return (url: string | URL, init: RequestInit = {}): Promise<Response> =>
    new Promise((done, fail) => {
      const headers = new Headers(init.headers);
      const req = httpsRequest(
        url,
        {
          method: init.method ?? 'GET',
          headers: Object.fromEntries(headers.entries()),
          ca,
          signal: init.signal ?? undefined,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            const out = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              for (const v of Array.isArray(value) ? value : [value ?? '']) out.append(name, v);
            }
            const status = res.statusCode ?? 0;
            const body = [101, 204, 205, 304].includes(status) ? null : Buffer.concat(chunks);
            done(new Response(body, { status, headers: out }));
          });
        },
      );
      req.on('error', fail);
      req.end(init.body as string | Buffer | undefined);
    });
}

/**
 * An HTTP request to one of the platform's apps over `fetch`, never following redirects. `path`
 * is appended verbatim to `base`, so malformed percent-encoding reaches the server unchanged.
 */
export async function apiRequest(
  base: string,
  method: string,
  path: string,
  options: ApiRequestOptions = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined;
  if (options.body !== undefined) {
    body =
      typeof options.body === 'string' || Buffer.isBuffer(options.body)
        ? options.body
        : JSON.stringify(options.body);
    const hasType = Object.keys(headers).some((h) => h.toLowerCase() === 'content-type');
    if (!hasType && !Buffer.isBuffer(body)) headers['Content-Type'] = 'application/json';
  }
  const send = options.ca === undefined ? fetch : fetchTrusting(options.ca);
  const res = await send(`${base}${path}`, {
    method,
    headers,
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/**
 * What is wrong with `res` as an error of the public contract: the body must be
 * `{"error": {"code", "message", "request_id", "param"?}}` with a known code, the request id
 * of the `Request-Id` header, and no stack trace. Empty when it is a proper error.
 */
export function errorEnvelopeProblems(res: ApiResponse): string[] {
  const problems: string[] = [];
  const body = res.json as Record<string, unknown> | undefined;
  const error = body?.error as Record<string, unknown> | undefined;
  if (!body || !error || typeof error !== 'object') {
    return [`not an error object: ${res.status} ${res.text.slice(0, 200)}`];
  }
  const requestId = typeof error.request_id === 'string' ? error.request_id : undefined;
  if (!isErrorCode(error.code)) problems.push(`unknown code ${JSON.stringify(error.code)}`);
  if (typeof error.message !== 'string' || !error.message) problems.push('no message');
  if (!requestId || !/^req_[0-9A-Za-z]+$/.test(requestId)) {
    problems.push(`bad request_id ${JSON.stringify(error.request_id)}`);
  }
  if (requestId !== res.headers.get('request-id')) {
    problems.push(`request_id ${requestId} ≠ Request-Id ${res.headers.get('request-id')}`);
  }
  const extra = Object.keys(error).filter(
    (k) => !['code', 'message', 'request_id', 'param'].includes(k),
  );
  if (extra.length) problems.push(`extra fields ${extra.join(', ')}`);
  if ('param' in error && typeof error.param !== 'string') problems.push('param not a string');
  if (Object.keys(body).length !== 1) problems.push('fields beside "error"');
  if (/\bat .*\.(ts|js):\d+/.test(res.text)) problems.push('stack trace in the body');
  return problems;
}

/** Asserts an error answer: its status, code and param, in the error object of DESIGN.md. */
export function expectError(res: ApiResponse, status: number, code: string, param?: string) {
  const error = (res.json as { error?: { code?: unknown; param?: unknown } } | undefined)?.error;
  expect({ status: res.status, code: error?.code, param: error?.param }).toEqual({
    status,
    code,
    param,
  });
  expect(errorEnvelopeProblems(res)).toEqual([]);
}

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/**
 * Polls `check` every `intervalMs` until it returns true or `timeoutMs` passed (bounded either
 * way); resolves with whether it held and how long it took.
 */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 5_000,
  intervalMs = 25,
): Promise<{ ok: boolean; ms: number }> {
  const start = Date.now();
  for (;;) {
    if (await check()) return { ok: true, ms: Date.now() - start };
    if (Date.now() - start > timeoutMs) return { ok: false, ms: Date.now() - start };
    await sleep(intervalMs);
  }
}

/** The draft-10 rate-limit fields of a response, parsed strictly (`undefined` parts if absent). */
export function rateLimitOf(headers: Headers): { q?: number; w?: number; r?: number; t?: number } {
  const item = (field: string | null, params: string[]) => {
    const m = field === null ? null : /^"default"((?:;[a-z]+=\d+)+)$/.exec(field);
    const out: Record<string, number> = {};
    for (const p of m ? m[1].slice(1).split(';') : []) {
      const [name, value] = p.split('=');
      if (params.includes(name)) out[name] = Number(value);
    }
    return out;
  };
  return {
    ...item(headers.get('ratelimit-policy'), ['q', 'w']),
    ...item(headers.get('ratelimit'), ['r', 't']),
  };
}
