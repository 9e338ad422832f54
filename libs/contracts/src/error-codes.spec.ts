import { ERROR_CODES, ErrorCode, httpStatusOf, isErrorCode } from './error-codes';

describe('ERROR_CODES', () => {
  it('has no duplicates and only snake_case codes', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ERROR_CODES) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });
});

describe('httpStatusOf', () => {
  it.each(ERROR_CODES.map((code) => [code]))('maps %s to a 4xx or 5xx status', (code) => {
    const status = httpStatusOf(code);
    expect(Number.isInteger(status)).toBe(true);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(600);
  });

  it.each<[ErrorCode, number]>([
    ['invalid_request', 400],
    ['invalid_json', 400],
    ['unsupported_media_type', 415],
    ['payload_too_large', 413],
    ['unauthenticated', 401],
    ['invalid_token', 401],
    ['insufficient_scope', 403],
    ['forbidden', 403],
    ['not_found', 404],
    ['route_not_found', 404],
    ['method_not_allowed', 405],
    ['project_not_found', 404],
    ['key_not_found', 404],
    ['user_not_found', 404],
    ['conflict', 409],
    ['quota_exceeded', 409],
    ['idempotency_key_in_use', 409],
    ['idempotency_key_reused', 422],
    ['rate_limited', 429],
    ['internal_error', 500],
    ['upstream_timeout', 503],
    ['service_unavailable', 503],
  ])('maps %s to %i', (code, status) => {
    expect(httpStatusOf(code)).toBe(status);
  });

  it('covers every code in the table above', () => {
    // If a code is added to ERROR_CODES, this count reminds the test to pin its status too.
    expect(ERROR_CODES).toHaveLength(22);
  });

  it('only internal_error, upstream_timeout and service_unavailable are 5xx', () => {
    const fiveHundreds = ERROR_CODES.filter((code) => httpStatusOf(code) >= 500);
    expect([...fiveHundreds].sort()).toEqual(
      ['internal_error', 'service_unavailable', 'upstream_timeout'].sort(),
    );
  });

  it('throws on a code that is not in the table', () => {
    expect(() => httpStatusOf('no_such_code' as ErrorCode)).toThrow(/unknown error code/);
  });
});

describe('isErrorCode', () => {
  it('accepts every listed code', () => {
    for (const code of ERROR_CODES) expect(isErrorCode(code)).toBe(true);
  });

  it.each([
    ['no_such_code'],
    ['NOT_FOUND'],
    [''],
    [' not_found'],
    [404],
    [null],
    [undefined],
    [{}],
  ])('rejects %p', (value) => {
    expect(isErrorCode(value)).toBe(false);
  });
});
