import { createHash, randomBytes } from 'node:crypto';

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  expires: number;
}

/** Cookies as a browser keeps them for one host: by name and path, honouring Max-Age/Expires. */
export class CookieJar {
  private readonly cookies = new Map<string, StoredCookie>();

  store(setCookie: string[]): void {
    for (const header of setCookie) {
      const [pair = '', ...attributes] = header.split(';').map((s) => s.trim());
      const i = pair.indexOf('=');
      if (i <= 0) continue;
      const cookie: StoredCookie = {
        name: pair.slice(0, i),
        value: pair.slice(i + 1),
        path: '/',
        expires: Infinity,
      };
      for (const attribute of attributes) {
        const [key = '', value = ''] = attribute.split('=');
        const name = key.toLowerCase();
        if (name === 'path' && value) cookie.path = value;
        if (name === 'max-age') cookie.expires = Date.now() + Number(value) * 1000;
        if (name === 'expires' && cookie.expires === Infinity) cookie.expires = Date.parse(value);
      }
      const id = `${cookie.name}\n${cookie.path}`;
      if (cookie.expires <= Date.now()) this.cookies.delete(id);
      else this.cookies.set(id, cookie);
    }
  }

  /** The Cookie header for a request to `url` (longest paths first, as browsers send them). */
  header(url: string): string {
    const path = new URL(url).pathname;
    return [...this.cookies.values()]
      .filter((c) => c.expires > Date.now())
      .filter(
        (c) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`),
      )
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  names(): string[] {
    return [...this.cookies.values()].map((c) => c.name);
  }
}

/** A page as the browser got it. */
export interface Page {
  url: string;
  status: number;
  headers: Headers;
  html: string;
}

/**
 * A minimal browser over `fetch`: keeps cookies, never follows redirects by itself (tests see
 * every hop), and submits HTML forms the way a browser would (form-encoded).
 */
export class Browser {
  readonly jar = new CookieJar();

  /** `send`: how requests go out (`fetchTrusting(ca)` for a platform over HTTPS). */
  constructor(
    private readonly send: (url: string, init: RequestInit) => Promise<Response> = fetch,
  ) {}

  async request(
    url: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    const cookie = this.jar.header(url);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await this.send(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
    });
    this.jar.store(res.headers.getSetCookie());
    return res;
  }

  async page(url: string, init: Parameters<Browser['request']>[1] = {}): Promise<Page> {
    const res = await this.request(url, init);
    return { url, status: res.status, headers: res.headers, html: await res.text() };
  }
}

/** The value of a named input in `html` (hidden fields such as `csrf_token`). */
export function inputValue(html: string, name: string): string | undefined {
  const input = new RegExp(`<input[^>]*name="${name}"[^>]*>`).exec(html)?.[0];
  const value = input && /value="([^"]*)"/.exec(input)?.[1];
  return value
    ?.replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");
}

/** The `action` of the first form whose action contains `contains`. */
export function formAction(html: string, contains: string): string | undefined {
  for (const match of html.matchAll(/<form[^>]*action="([^"]*)"/g)) {
    if (match[1].includes(contains)) return match[1].replace(/&amp;/g, '&');
  }
  return undefined;
}

/** A PKCE verifier and its S256 challenge (RFC 7636). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/** An authorization request URL; parameters with an undefined value are left out. */
export function authorizationUrl(
  issuer: string,
  params: Record<string, string | undefined>,
): string {
  const url = new URL('/oauth/authorize', issuer);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.set(key, value);
  }
  return url.toString();
}

export interface AuthorizeAs {
  email: string;
  password: string;
  /** Where the flow ends: the client's redirect URI (the browser never goes there). */
  redirectUri: string;
  decision?: 'allow' | 'deny';
}

/**
 * Drives an authorization request the way a person in a browser would: follows redirects, signs
 * in and answers the consent page when they come, and stops at the redirect back to the client.
 * Returns that URL (with `code` or `error`) and every page it saw.
 */
export async function authorizeInBrowser(
  browser: Browser,
  startUrl: string,
  as: AuthorizeAs,
): Promise<{ callback: URL; pages: Page[] }> {
  const pages: Page[] = [];
  let url = startUrl;
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(as.redirectUri)) return { callback: new URL(url), pages };
    const page = await browser.page(url);
    pages.push(page);
    let next: Response | undefined;
    if (page.status >= 300 && page.status < 400) {
      url = new URL(page.headers.get('location')!, url).toString();
      continue;
    }
    if (page.status === 200 && page.html.includes('name="password"')) {
      next = await browser.request(new URL(formAction(page.html, '/login')!, url).toString(), {
        form: {
          csrf_token: inputValue(page.html, 'csrf_token')!,
          email: as.email,
          password: as.password,
        },
      });
    } else if (page.status === 200 && page.html.includes('name="decision"')) {
      next = await browser.request(new URL(formAction(page.html, '/consent')!, url).toString(), {
        form: {
          csrf_token: inputValue(page.html, 'csrf_token')!,
          decision: as.decision ?? 'allow',
        },
      });
    } else {
      throw new Error(`unexpected page ${page.status} at ${url}:\n${page.html.slice(0, 2000)}`);
    }
    const location = next.headers.get('location');
    if (next.status !== 303 || !location) {
      throw new Error(
        `form answered ${next.status} at ${url}:\n${(await next.text()).slice(0, 2000)}`,
      );
    }
    url = new URL(location, url).toString();
  }
  throw new Error(`no redirect to ${as.redirectUri} after 20 hops`);
}
