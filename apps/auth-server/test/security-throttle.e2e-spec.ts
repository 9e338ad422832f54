/**
 * Sign-in and sign-up throttling through the booted auth-server, Redis real. The auth-server
 * trusts one proxy (TRUST_PROXY=1: this test is that proxy), so each request's right-most
 * X-Forwarded-For hop is its client address.
 */
import {
  authorizationUrl,
  Browser,
  formAction,
  inputValue,
  TENANT_PASSWORD,
  TestPlatform,
} from '@cap/testing';

const PER_PAIR = 5;
const PER_ADDRESS = 12;
const SIGNUPS = 3;
const REDIRECT = 'https://app.example.com/callback';

let platform: TestPlatform;
let AS: string;
let email: string;
let clientId: string;

beforeAll(async () => {
  platform = await TestPlatform.start(['projects-service', 'auth-server'], {
    TRUST_PROXY: '1',
    SIGNIN_MAX_FAILURES_PER_ACCOUNT: String(PER_PAIR),
    SIGNIN_MAX_FAILURES_PER_IP: String(PER_ADDRESS),
    SIGNUP_MAX_PER_IP: String(SIGNUPS),
  });
  AS = platform.url('auth-server');
  email = (await platform.tenant('signin')).email;
  clientId = (
    await platform.admin<{ id: string }>([
      'create-client',
      '--owner',
      email,
      '--name',
      'Throttle App',
      '--redirect-uri',
      REDIRECT,
    ])
  ).id;
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

let addresses = 0;
/** A client address of its own for each test (TEST-NET-2), so no test spends another's. */
const newAddress = () => `198.51.100.${++addresses}`;

/** A sign-in form of a fresh authorization request, and how to send it from an address. */
async function signInForm() {
  const browser = new Browser();
  const start = await browser.request(
    authorizationUrl(AS, {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      scope: 'projects:read',
    }),
  );
  const page = await browser.page(new URL(start.headers.get('location')!, AS).toString());
  const action = new URL(formAction(page.html, '/login')!, AS).toString();
  const csrf = inputValue(page.html, 'csrf_token')!;
  /** `forwardedFor`: the X-Forwarded-For the proxy passes on (the client's own hop last). */
  return (as: string, password: string, forwardedFor: string) =>
    browser.page(action, {
      form: { csrf_token: csrf, email: as, password },
      headers: { 'x-forwarded-for': forwardedFor },
    });
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

describe('security: sign-in throttling', () => {
  it(`checks only ${PER_PAIR} of 30 wrong passwords sent at once; the rest are refused unchecked`, async () => {
    const signIn = await signInForm();
    const from = newAddress();
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => signIn(email, `wrong-${i}`, from)),
    );
    const statuses = answers.map((a) => a.status);
    // 401: the password was checked (and wrong); 429: refused before any check.
    expect([count(statuses, 401), count(statuses, 429)]).toEqual([PER_PAIR, 30 - PER_PAIR]);
    const blocked = answers.find((a) => a.status === 429)!;
    expect(blocked.html).toContain('Too many failed sign-ins');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // The right password from there is refused too, until the window ends.
    expect((await signIn(email, TENANT_PASSWORD, from)).status).toBe(429);
  });

  it("failures from elsewhere never lock the account's owner out", async () => {
    const attacker = await signInForm();
    const from = newAddress();
    const statuses: number[] = [];
    for (let i = 0; i < PER_PAIR + 3; i++) {
      statuses.push((await attacker(email, `guess-${i}`, from)).status);
    }
    expect(statuses).toEqual([...Array<number>(PER_PAIR).fill(401), 429, 429, 429]);

    const owner = await signInForm();
    const signedIn = await owner(email, TENANT_PASSWORD, newAddress());
    expect(signedIn.status).toBe(303);
  });

  it('a spoofed left-most X-Forwarded-For does not choose a new bucket', async () => {
    const signIn = await signInForm();
    const real = newAddress();
    const statuses: number[] = [];
    for (let i = 0; i <= PER_PAIR; i++) {
      // What the client wrote itself comes first; the proxy appended the address it saw.
      statuses.push((await signIn(email, `wrong-${i}`, `10.9.8.${i}, ${real}`)).status);
    }
    expect(statuses).toEqual([...Array<number>(PER_PAIR).fill(401), 429]);
  });

  it(`bounds one address over many accounts (${PER_ADDRESS}), success not counted`, async () => {
    const signIn = await signInForm();
    const from = newAddress();
    // A success gives its attempt back: signing in does not use up a shared address.
    expect((await signIn(email, TENANT_PASSWORD, from)).status).toBe(303);
    const next = await signInForm();
    const statuses: number[] = [];
    for (let i = 0; i < PER_ADDRESS; i++) {
      statuses.push((await next(`nobody-${i}@example.com`, 'wrong password', from)).status);
    }
    expect(statuses).toEqual(Array<number>(PER_ADDRESS).fill(401));
    expect((await next(email, TENANT_PASSWORD, from)).status).toBe(429);
  });
});

describe('security: sign-up throttling', () => {
  it(`accepts ${SIGNUPS} sign-ups per address, then 429 with a page that says so`, async () => {
    const browser = new Browser();
    const form = await browser.page(`${AS}/signup`);
    const csrf = inputValue(form.html, 'csrf_token')!;
    const signUp = (from: string, i: number) =>
      browser.page(`${AS}/signup`, {
        form: {
          csrf_token: csrf,
          email: `new-${i}-${Date.now()}@example.com`,
          password: 'a long password',
        },
        headers: { 'x-forwarded-for': from },
      });
    const from = newAddress();
    const statuses: number[] = [];
    for (let i = 0; i < SIGNUPS; i++) statuses.push((await signUp(from, i)).status);
    expect(statuses).toEqual(Array<number>(SIGNUPS).fill(201));

    const refused = await signUp(`203.0.113.1, ${from}`, 99);
    expect(refused.status).toBe(429);
    expect(refused.html).toContain('Too many sign-ups');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    expect((await signUp(newAddress(), 100)).status).toBe(201);
  });
});
