import { ApiConnectionError, ApiError } from './errors.js';
import { parseRateLimit, parseRetryAfter, RateLimitState } from './rate-limit.js';

export const VERSION = '0.1.0';

/** Options of {@link CloudApi}. */
export interface ClientOptions {
  /** An API key (`sk_live_…`). */
  apiKey?: string;
  /** An OAuth 2.0 access token (see {@link OAuth}). */
  accessToken?: string;
  /** The platform, without `/v1`. Default `https://api.cloudplatform.example`. */
  baseUrl?: string;
  /** Retries after the first attempt (default 2); `0` turns retries off. */
  maxRetries?: number;
  /** Time allowed for one attempt, in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Time allowed for a call with all its retries and waits, in milliseconds (default 120 000). */
  totalTimeoutMs?: number;
  /** A `fetch` to use instead of the global one (a proxy agent, a test double). */
  fetch?: typeof fetch;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** Called before each retry's wait (logging, metrics): why, and for how long. */
  onRetry?: (event: RetryEvent) => void;
}

/** What {@link ClientOptions.onRetry} is told. */
export interface RetryEvent {
  method: string;
  url: string;
  /** The attempt that failed (1 for the first). */
  attempt: number;
  error: ApiError;
  /** The wait before the next attempt: `Retry-After` when the platform sent one. */
  delayMs: number;
}

/** Per-call options, the last argument of every method. */
export interface RequestOptions {
  /** For a `POST`: your own key, instead of the one generated for the call. */
  idempotencyKey?: string;
  maxRetries?: number;
  timeoutMs?: number;
  totalTimeoutMs?: number;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** The last response the client received. */
export interface ResponseInfo {
  status: number;
  requestId: string | undefined;
  headers: Headers;
  rateLimit: RateLimitState | undefined;
  /** Attempts the call took (1 without retries). */
  attempts: number;
  /** `true` when the platform replayed a stored response for the `Idempotency-Key`. */
  replayed: boolean;
}

export interface RequestSpec {
  method: string;
  /** A path template such as `/v1/projects/{id}`. */
  path: string;
  pathParams?: Record<string, string | undefined>;
  query?: object;
  body?: unknown;
}

export const DEFAULTS = {
  baseUrl: 'https://api.cloudplatform.example',
  maxRetries: 2,
  timeoutMs: 30_000,
  totalTimeoutMs: 120_000,
  /** Backoff: 0.5 s, 1 s, 2 s, … capped at 8 s, each with jitter (a random 50–100 %). */
  initialDelayMs: 500,
  maxDelayMs: 8_000,
  /** A `Retry-After` longer than this is not waited for: the error is thrown. */
  maxRetryAfterMs: 60_000,
} as const;

/** Methods whose retry cannot repeat an effect: POST carries an `Idempotency-Key`. */
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);

/** Whether an error may be retried: no answer, 429, `idempotency_key_in_use`, 5xx. */
export function isRetryable(error: ApiError): boolean {
  if (error instanceof ApiConnectionError) return true;
  if (error.status === 409) return error.code === 'idempotency_key_in_use';
  return RETRYABLE_STATUSES.has(error.status) || error.status >= 500;
}

/** Milliseconds to wait before retry number `retry` (0-based): `Retry-After`, or backoff. */
export function retryDelayMs(retry: number, error: ApiError, random = Math.random): number {
  if (error.retryAfter !== undefined) return error.retryAfter * 1000;
  const base = Math.min(DEFAULTS.initialDelayMs * 2 ** retry, DEFAULTS.maxDelayMs);
  return base * (0.5 + random() * 0.5);
}

/** A random idempotency key (UUID v4 where the platform has `crypto.randomUUID`). */
export function newIdempotencyKey(): string {
  const c = (
    globalThis as {
      crypto?: { randomUUID?: () => string; getRandomValues?: (a: Uint8Array) => Uint8Array };
    }
  ).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const done = () => {
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/** Fills `{name}` in a path template; a missing or empty value is a caller error, not a list. */
export function expandPath(template: string, params: Record<string, string | undefined> = {}) {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params[name];
    if (typeof value !== 'string' || value === '') {
      throw new TypeError(`${name} is required (a non-empty string) for ${template}`);
    }
    return encodeURIComponent(value);
  });
}

const isNode = () =>
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ===
  'string';

/** Sends requests with auth, idempotency keys and retries; resources call it. */
export class HttpClient {
  /** The last response received (also the one of a failed call). */
  lastResponse: ResponseInfo | undefined;
  private readonly options: Required<
    Omit<ClientOptions, 'apiKey' | 'accessToken' | 'fetch' | 'onRetry'>
  > & {
    token: string | undefined;
    fetch: typeof fetch | undefined;
    onRetry: ((event: RetryEvent) => void) | undefined;
  };

  constructor(options: ClientOptions = {}) {
    if (options.apiKey && options.accessToken) {
      throw new TypeError('Pass apiKey or accessToken, not both.');
    }
    this.options = {
      token: options.apiKey ?? options.accessToken,
      baseUrl: (options.baseUrl ?? DEFAULTS.baseUrl).replace(/\/+$/, '').replace(/\/v1$/, ''),
      maxRetries: options.maxRetries ?? DEFAULTS.maxRetries,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      totalTimeoutMs: options.totalTimeoutMs ?? DEFAULTS.totalTimeoutMs,
      fetch: options.fetch,
      headers: options.headers ?? {},
      onRetry: options.onRetry,
    };
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  url(spec: RequestSpec): string {
    const url = new URL(this.options.baseUrl + expandPath(spec.path, spec.pathParams));
    for (const [name, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  async request<T>(spec: RequestSpec, opts: RequestOptions = {}): Promise<T> {
    const url = this.url(spec);
    const maxRetries = opts.maxRetries ?? this.options.maxRetries;
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs;
    const deadline = Date.now() + (opts.totalTimeoutMs ?? this.options.totalTimeoutMs);
    const headers: Record<string, string> = {
      Accept: 'application/json',
      ...this.options.headers,
      ...opts.headers,
    };
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    if (isNode()) headers['User-Agent'] = `cloud-api-js/${VERSION}`;
    let body: string | undefined;
    if (spec.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(spec.body);
    }
    // One key for the call, so every retry of it is the same request to the platform.
    if (spec.method === 'POST')
      headers['Idempotency-Key'] = opts.idempotencyKey ?? newIdempotencyKey();

    for (let attempt = 1; ; attempt++) {
      const error = await this.attempt<T>(url, spec.method, headers, body, {
        timeoutMs: Math.max(1, Math.min(timeoutMs, deadline - Date.now())),
        signal: opts.signal,
        attempt,
      });
      if (!(error instanceof ApiError)) return error.value;
      if (attempt > maxRetries || !isRetryable(error)) throw error;
      const wait = retryDelayMs(attempt - 1, error);
      if (wait > DEFAULTS.maxRetryAfterMs || Date.now() + wait >= deadline) throw error;
      this.options.onRetry?.({ method: spec.method, url, attempt, error, delayMs: wait });
      await sleep(wait, opts.signal);
    }
  }

  private async attempt<T>(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    o: { timeoutMs: number; signal?: AbortSignal; attempt: number },
  ): Promise<{ value: T } | ApiError> {
    if (o.signal?.aborted) throw o.signal.reason;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, o.timeoutMs);
    const forward = () => controller.abort(o.signal?.reason);
    o.signal?.addEventListener('abort', forward, { once: true });
    try {
      const doFetch = this.options.fetch ?? globalThis.fetch;
      let res: Response;
      let text: string;
      try {
        res = await doFetch(url, { method, headers, body, signal: controller.signal });
        text = await res.text();
      } catch (cause) {
        // The caller's own abort ends the call; anything else had no answer and may be retried.
        if (o.signal?.aborted) throw o.signal.reason;
        return new ApiConnectionError({
          status: 0,
          code: timedOut ? 'timeout' : 'connection_error',
          message: timedOut
            ? `No response from ${method} ${url} within ${o.timeoutMs} ms.`
            : `The connection for ${method} ${url} failed: ${String((cause as Error)?.message ?? cause)}`,
          cause,
        });
      }
      const rateLimit = parseRateLimit(res.headers);
      this.lastResponse = {
        status: res.status,
        requestId: res.headers.get('request-id') ?? undefined,
        headers: res.headers,
        rateLimit: rateLimit ?? this.lastResponse?.rateLimit,
        attempts: o.attempt,
        replayed: res.headers.get('idempotent-replayed') === 'true',
      };
      let parsed: unknown = undefined;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
      }
      if (res.ok) {
        if (parsed === undefined && text) {
          return new ApiError({
            status: res.status,
            code: 'invalid_response',
            message: `${method} ${url} answered ${res.status} with a body that is not JSON.`,
            requestId: this.lastResponse.requestId,
            headers: res.headers,
          });
        }
        return { value: parsed as T };
      }
      return ApiError.fromResponse(res.status, parsed, res.headers, {
        retryAfter: parseRetryAfter(res.headers.get('retry-after')),
        rateLimit,
      });
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', forward);
    }
  }
}
