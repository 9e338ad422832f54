import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Csrf } from './csrf';

function request(cookie?: string): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  if (cookie) req.headers.cookie = cookie;
  return req;
}

function browserCookie(res: ServerResponse): string {
  const header = res.getHeader('set-cookie');
  const first = Array.isArray(header) ? header[0] : String(header);
  return first.split(';')[0];
}

describe('Csrf', () => {
  const csrf = new Csrf(
    ['first-secret-that-is-long-enough-32+', 'older-secret-still-accepted-32+++'],
    false,
  );

  it('sets a browser cookie once and accepts its field for the same purpose only', () => {
    const res = new ServerResponse(request());
    const field = csrf.fieldFor(request(), res, 'interaction:abc');
    const cookie = browserCookie(res);
    expect(cookie).toMatch(/^cap_csrf=[A-Za-z0-9_-]{43}$/);
    expect(String(res.getHeader('set-cookie'))).toMatch(/HttpOnly; SameSite=Lax/);

    expect(csrf.verify(request(cookie), 'interaction:abc', field)).toBe(true);
    expect(csrf.verify(request(cookie), 'interaction:other', field)).toBe(false);
    expect(csrf.verify(request(cookie), 'signup', field)).toBe(false);
  });

  it('refuses a missing field, a missing cookie and another browser', () => {
    const res = new ServerResponse(request());
    const field = csrf.fieldFor(request(), res, 'signup');
    const cookie = browserCookie(res);
    expect(csrf.verify(request(cookie), 'signup', undefined)).toBe(false);
    expect(csrf.verify(request(cookie), 'signup', '')).toBe(false);
    expect(csrf.verify(request(), 'signup', field)).toBe(false);
    const otherRes = new ServerResponse(request());
    csrf.fieldFor(request(), otherRes, 'signup');
    expect(csrf.verify(request(browserCookie(otherRes)), 'signup', field)).toBe(false);
  });

  it('keeps the cookie it finds and accepts fields made under an older secret', () => {
    const res = new ServerResponse(request());
    csrf.fieldFor(request(), res, 'signup');
    const cookie = browserCookie(res);
    const again = new ServerResponse(request(cookie));
    const older = new Csrf(['older-secret-still-accepted-32+++'], false);
    const field = older.fieldFor(request(cookie), again, 'signup');
    expect(again.getHeader('set-cookie')).toBeUndefined();
    expect(csrf.verify(request(cookie), 'signup', field)).toBe(true);
  });
});
