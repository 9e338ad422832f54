import {
  checkEmailVerificationToken,
  emailVerificationToken,
  parseEmailVerificationToken,
} from './email-verification';

const SECRET = 's'.repeat(40);
const user = { id: 'usr_abc123', email: 'bob@corp.example' };
const later = new Date(Date.now() + 3_600_000);

const check = (token: string, email = user.email, secret = SECRET, now?: Date) => {
  const parsed = parseEmailVerificationToken(token);
  return parsed ? checkEmailVerificationToken(parsed, email, secret, now) : 'unparsable';
};

describe('security: email verification tokens', () => {
  it('are valid for their user, address and secret until they expire', () => {
    const token = emailVerificationToken(user, SECRET, later);
    expect(token).toMatch(/^usr_abc123\.\d+\.[A-Za-z0-9_-]{43}$/);
    expect(check(token)).toBe('valid');
    expect(check(token, user.email, SECRET, new Date(later.getTime() + 1000))).toBe('expired');
  });

  it('prove nothing for another address, another secret, or once altered', () => {
    const token = emailVerificationToken(user, SECRET, later);
    const [id, expires, sig] = token.split('.');
    expect(check(token, 'new@corp.example')).toBe('invalid');
    expect(check(token, user.email, 't'.repeat(40))).toBe('invalid');
    expect(check(`${id}.${Number(expires) + 1}.${sig}`)).toBe('invalid');
    expect(check(`usr_other.${expires}.${sig}`)).toBe('invalid');
    const flipped = `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
    expect(check(`${id}.${expires}.${flipped}`)).toBe('invalid');
    // An altered expiry in the past is invalid, not expired: the signature is checked first.
    expect(check(`${id}.1.${sig}`)).toBe('invalid');
  });

  it('refuse anything without their shape', () => {
    for (const bad of ['', 'a.b.c', 'usr_x.12.short', 'prj_x.12.' + 'a'.repeat(43), 'usr_x.12']) {
      expect(check(bad)).toBe('unparsable');
    }
  });
});
