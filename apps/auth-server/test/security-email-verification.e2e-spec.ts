/**
 * Email verification end to end (issue 10, item 8): auth-server and projects-service booted as
 * processes on a fresh database and queue prefix. Sign-up mails a signed, expiring link (to the
 * log when SMTP_URL is unset, through SMTP when it is set); `/verify-email` accepts only a link
 * signed for the account's current address and not expired; sign-up never tells whether an
 * address already has an account.
 */
import {
  DEVELOPMENT_EMAIL_VERIFICATION_SECRET,
  emailVerificationToken,
  emailVerificationUrl,
} from '@cap/auth';
import {
  adminWithRetry,
  DbSnapshotter,
  eventually,
  RunningApp,
  signUpInBrowser,
  TENANT_PASSWORD,
  TestPlatform,
  TestSmtpServer,
  verificationLinkIn,
} from '@cap/testing';

let platform: TestPlatform;
let db: DbSnapshotter;
let smtp: TestSmtpServer;
/** A second auth-server of the same platform that mails through `smtp`. */
let mailing: RunningApp;
let AS: string;

beforeAll(async () => {
  smtp = await TestSmtpServer.start();
  platform = await TestPlatform.start(['projects-service', 'auth-server'], { LOG_LEVEL: 'info' });
  db = await DbSnapshotter.connect(platform.db.url);
  AS = platform.url('auth-server');
  mailing = await platform.startApp('auth-server', { SMTP_URL: smtp.url, LOG_LEVEL: 'warn' });
}, 120_000);

afterAll(async () => {
  await mailing?.stop();
  await db?.close();
  await platform?.stop();
  await smtp?.stop();
});

const unique = (label: string) =>
  `${label}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;

async function verifiedAt(email: string): Promise<string | null> {
  const rows = await db.query<{ at: Date | null }>(
    'SELECT email_verified_at AS at FROM users WHERE email = $1',
    [email],
  );
  if (rows.length !== 1) throw new Error(`no single user ${email}`);
  return rows[0].at ? rows[0].at.toISOString() : null;
}

/** The log lines of the (log-only) auth-server that mention `email`. */
function logLinesFor(email: string): Array<{ msg: string; subject?: string; link?: string }> {
  return platform.apps
    .get('auth-server')!
    .output()
    .split('\n')
    .filter((l) => l.includes(email) && l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; subject?: string; link?: string });
}

async function loggedLink(email: string): Promise<string> {
  let link: string | undefined;
  const found = await eventually(() => {
    link = logLinesFor(email).find((l) => l.link)?.link;
    return link !== undefined;
  });
  expect(found.ok).toBe(true);
  return link!;
}

describe('security: sign-up does not reveal whether an email is registered', () => {
  it('answers a new and a registered address with the same page, and creates nothing', async () => {
    const existing = unique('existing');
    expect((await signUpInBrowser(AS, { email: existing, password: TENANT_PASSWORD })).status).toBe(
      200,
    );
    await loggedLink(existing);
    const users = await db.count('users');

    const normalise = (html: string, email: string) => html.split(email).join('EMAIL');
    const fresh = unique('fresh');
    const timings = { fresh: [] as number[], existing: [] as number[] };
    const pages: Record<string, Set<string>> = { fresh: new Set(), existing: new Set() };
    for (let i = 0; i < 3; i++) {
      for (const [kind, email] of [
        ['existing', existing],
        ['fresh', i === 0 ? fresh : unique('fresh')],
      ] as const) {
        const started = performance.now();
        const res = await signUpInBrowser(AS, {
          email,
          password: `${TENANT_PASSWORD} ${kind}`,
          name: 'Someone',
        });
        timings[kind].push(performance.now() - started);
        pages[kind].add(`${res.status} ${normalise(res.html, email)}`);
      }
    }
    expect(pages.existing.size).toBe(1);
    expect([...pages.existing]).toEqual([...pages.fresh]);
    expect([...pages.existing][0]).toMatch(/^200 [\s\S]*Check your inbox/);
    // Only the three fresh addresses made accounts; the registered one is unchanged.
    expect(await db.count('users')).toBe(users + 3);
    expect(await db.count('users', 'email = $1 AND name IS NULL', [existing])).toBe(1);
    // Both paths hash the password: neither is the fast one (medians within 2× or 150 ms).
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[1];
    const [a, b] = [median(timings.fresh), median(timings.existing)];
    expect(Math.abs(a - b)).toBeLessThan(Math.max(150, Math.min(a, b)));

    // The holder of the registered address is told, with no link (whoever signed up may not
    // be them); the new address gets its link.
    await eventually(() => logLinesFor(existing).length >= 4);
    const notes = logLinesFor(existing).filter((l) => l.subject === 'You already have an account');
    expect(notes.length).toBe(3);
    expect(notes.every((n) => n.link === undefined)).toBe(true);
    expect(await loggedLink(fresh)).toMatch(/\/verify-email\?token=usr_/);
  });
});

describe('security: verification links', () => {
  it('is written to the log when SMTP_URL is unset; following it verifies, twice is harmless', async () => {
    const email = unique('logged');
    await signUpInBrowser(AS, { email, password: TENANT_PASSWORD });
    expect(await verifiedAt(email)).toBeNull();
    const link = await loggedLink(email);
    expect(link.startsWith(`${platform.env.ISSUER}/verify-email?token=`)).toBe(true);
    const first = await fetch(link);
    expect(first.status).toBe(200);
    expect(await first.text()).toContain('Email verified');
    const at = await verifiedAt(email);
    expect(at).not.toBeNull();
    const again = await fetch(link);
    expect(again.status).toBe(200);
    expect(await verifiedAt(email)).toBe(at);
  });

  it('a tampered, expired, foreign or old-address link is refused with a clear page', async () => {
    const email = unique('tamper');
    await signUpInBrowser(AS, { email, password: TENANT_PASSWORD });
    const link = await loggedLink(email);
    const token = new URL(link).searchParams.get('token')!;
    const [userId, expires, sig] = token.split('.');
    const flip = (s: string) => `${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`;
    const sign = (user: { id: string; email: string }, at: Date) =>
      emailVerificationToken(user, DEVELOPMENT_EMAIL_VERIFICATION_SECRET, at);
    const other = unique('other');
    await signUpInBrowser(AS, { email: other, password: TENANT_PASSWORD });
    const otherId = (
      await db.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [other])
    )[0].id;
    const cases: Array<[string, string, RegExp]> = [
      ['an altered signature', `${userId}.${expires}.${flip(sig)}`, /not valid/],
      ['a later expiry', `${userId}.${Number(expires) + 86_400}.${sig}`, /not valid/],
      ["another user's id", `${otherId}.${expires}.${sig}`, /not valid/],
      [
        'an old address',
        sign({ id: userId, email: `old-${email}` }, new Date(Date.now() + 1e6)),
        /not valid/,
      ],
      [
        'a wrong secret',
        emailVerificationToken({ id: userId, email }, 'x'.repeat(40), new Date(Date.now() + 1e6)),
        /not valid/,
      ],
      ['an expired link', sign({ id: userId, email }, new Date(Date.now() - 1000)), /expired/],
      ['garbage', 'not-a-token', /not valid/],
    ];
    for (const [label, bad, message] of cases) {
      const res = await fetch(emailVerificationUrl(AS, bad));
      const html = await res.text();
      expect({ label, status: res.status }).toEqual({ label, status: 400 });
      expect({ label, ok: message.test(html) }).toEqual({ label, ok: true });
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    }
    expect((await fetch(`${AS}/verify-email`)).status).toBe(400);
    expect(await verifiedAt(email)).toBeNull();
    expect(await verifiedAt(other)).toBeNull();
    // The genuine link still works.
    expect((await fetch(link)).status).toBe(200);
    expect(await verifiedAt(email)).not.toBeNull();
  });

  it('is sent through SMTP when SMTP_URL is set, and the mailed link verifies', async () => {
    const email = unique('mailed');
    const res = await signUpInBrowser(mailing.url, { email, password: TENANT_PASSWORD });
    expect(res.status).toBe(200);
    const arrived = await eventually(() => smtp.mailsTo(email).length > 0, 10_000);
    expect(arrived.ok).toBe(true);
    const [mail] = smtp.mailsTo(email);
    expect(mail.headers).toMatch(/^Subject: Verify your email address/m);
    const link = verificationLinkIn(mail.text);
    expect(link).toBeDefined();
    // The mailing server does not write the link to its log.
    expect(mailing.output()).not.toContain(link!.split('token=')[1]);
    expect((await fetch(link!)).status).toBe(200);
    expect(await verifiedAt(email)).not.toBeNull();
  });
});

describe('security: the operator', () => {
  it('`verification-link --email` prints a link that verifies the address', async () => {
    const email = unique('cli');
    await signUpInBrowser(AS, { email, password: TENANT_PASSWORD });
    const out = await adminWithRetry<{
      user_id: string;
      email: string;
      url: string;
      expires_at: string;
    }>(platform, ['verification-link', '--email', email.toUpperCase()]);
    expect(out).toMatchObject({ email, user_id: expect.stringMatching(/^usr_/) });
    expect(Date.parse(out.expires_at) - Date.now()).toBeGreaterThan(86_000_000);
    expect(await verifiedAt(email)).toBeNull();
    expect((await fetch(out.url)).status).toBe(200);
    expect(await verifiedAt(email)).not.toBeNull();
  });

  it('`create-user` makes a verified user (the operator vouches)', async () => {
    const email = unique('operator');
    await adminWithRetry(platform, ['create-user', '--email', email], `${TENANT_PASSWORD}\n`);
    expect(await verifiedAt(email)).not.toBeNull();
  });
});
