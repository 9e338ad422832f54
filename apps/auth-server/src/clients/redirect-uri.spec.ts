import { DomainError } from '@cap/contracts';
import { MAX_REDIRECT_URIS, redirectUriProblem, validateRedirectUris } from './redirect-uri';

describe('redirectUriProblem', () => {
  it.each([
    ['https://app.example.com/callback'],
    ['https://app.example.com'],
    ['https://app.example.com:8443/cb?tenant=a'],
    ['https://xn--bcher-kva.example/cb'],
    ['http://127.0.0.1:5000/cb'],
    ['http://[::1]:5000/cb'],
    ['http://localhost/cb'],
    ['http://localhost:3000/callback'],
  ])('accepts %s', (uri) => {
    expect(redirectUriProblem(uri)).toBeNull();
  });

  it.each([
    ['http://app.example.com/callback', /https/],
    ['http://127.0.0.2/cb', /https/],
    ['http://localhost.evil.example/cb', /https/],
    ['http://127.0.0.1.nip.io/cb', /https/],
    ['ftp://app.example.com/cb', /https/],
    ['javascript:alert(1)', /absolute/],
    ['myapp:/callback', /absolute/],
    ['/callback', /absolute/],
    ['app.example.com/callback', /absolute/],
    ['https://*.example.com/cb', /wildcard/],
    ['https://app.example.com/*', /wildcard/],
    ['https://app.example.com/cb#', /fragment/],
    ['https://app.example.com/cb#x', /fragment/],
    ['https://user:pw@app.example.com/cb', /user name/],
    ['https://app.example.com/c b', /spaces/],
    [' https://app.example.com/cb', /spaces/],
    ['https://app.example.com/cb\n', /spaces/],
    ['', /empty/],
  ])('refuses %j', (uri, reason) => {
    expect(redirectUriProblem(uri)).toMatch(reason);
  });

  it('refuses a URI longer than 2000 characters', () => {
    expect(redirectUriProblem(`https://app.example.com/${'a'.repeat(2000)}`)).toMatch(/at most/);
  });
});

describe('validateRedirectUris', () => {
  const error = (input: unknown): DomainError => {
    try {
      validateRedirectUris(input);
    } catch (err) {
      return err as DomainError;
    }
    throw new Error('expected validateRedirectUris to throw');
  };

  it('returns the URIs exactly as given', () => {
    const uris = ['https://app.example.com/callback', 'http://127.0.0.1:8000/cb'];
    expect(validateRedirectUris(uris)).toEqual(uris);
  });

  it('needs at least one and at most ten', () => {
    expect(error([])).toMatchObject({ code: 'invalid_request', param: 'redirect_uris' });
    expect(error(undefined).message).toMatch(/at least one/);
    const many = Array.from({ length: MAX_REDIRECT_URIS + 1 }, (_, i) => `https://a.example/${i}`);
    expect(error(many).message).toMatch(/at most 10/);
    expect(validateRedirectUris(many.slice(0, MAX_REDIRECT_URIS))).toHaveLength(10);
  });

  it('names the first bad URI and why', () => {
    const err = error(['https://ok.example/cb', 'http://bad.example/cb']);
    expect(err).toBeInstanceOf(DomainError);
    expect(err.code).toBe('invalid_request');
    expect(err.message).toBe(
      'Redirect URI 2 must use https (http is allowed only for 127.0.0.1, [::1] and localhost).',
    );
  });

  it('refuses non-strings and duplicates', () => {
    expect(error([42]).message).toMatch(/must be a string/);
    expect(error(['https://a.example/cb', 'https://a.example/cb']).message).toMatch(/twice/);
  });
});
