/** A `/v1` error as the gateway writes it (DESIGN.md §3). */
export interface ApiErrorBody {
  code: string;
  message: string;
  request_id?: string;
  param?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message);
  }
}

/** Calls the public API with the signed-in user's access token, like any third-party app. */
export class ApiClient {
  constructor(private readonly baseUrl: string) {}

  async call<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(`/v1${path}`, this.baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch {
      throw new ApiError(503, { code: 'api_unavailable', message: 'The API did not answer.' });
    }
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // a non-JSON body: described below
    }
    if (!res.ok) {
      const error = (json as { error?: ApiErrorBody } | undefined)?.error;
      throw new ApiError(res.status, {
        code: error?.code ?? 'api_error',
        message: error?.message ?? `The API answered ${res.status}.`,
        request_id: error?.request_id ?? res.headers.get('request-id') ?? undefined,
        param: error?.param,
      });
    }
    return json as T;
  }
}
