import { claimedClientId, clientAuthenticated, secondsUntilBelow } from './token-throttle';

describe('secondsUntilBelow', () => {
  const minute = 60_000 * 29_000_000; // the start of some minute
  it('is 0 while the sliding estimate is under the limit', () => {
    expect(secondsUntilBelow(10, 0, 9, minute + 1_000)).toBe(0);
    // Half of the last minute still counts: 10 × 0.5 + 4 = 9.
    expect(secondsUntilBelow(10, 10, 4, minute + 30_000)).toBe(0);
  });

  it('waits for enough of the last minute to slide out', () => {
    // 10 × 0.5 + 6 = 11 ≥ 10; under once 10 × (1 − e) + 6 < 10, e > 0.6: just past 6 s.
    expect(secondsUntilBelow(10, 10, 6, minute + 30_000)).toBe(7);
  });

  it('waits into the next minute when this one alone is full', () => {
    // 10 this minute, 15 s left; next minute under once 10 × (1 − e) < 10: just after it starts.
    expect(secondsUntilBelow(10, 0, 10, minute + 45_000)).toBe(16);
    // 20 this minute: next minute needs 20 × (1 − e) < 10, e > 0.5: just past 15 s + 30 s.
    expect(secondsUntilBelow(10, 0, 20, minute + 45_000)).toBe(46);
  });
});

describe('claimedClientId', () => {
  const basic = (user: string, secret = 's') =>
    `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
  it('reads the form-encoded user of a Basic header first', () => {
    expect(claimedClientId(basic('cli_a%2Bb'), 'client_id=cli_other')).toBe('cli_a+b');
    expect(claimedClientId(basic('a+b'), undefined)).toBe('a b');
    expect(claimedClientId('basic ' + Buffer.from('cli_x:y').toString('base64'), '')).toBe('cli_x');
  });

  it('falls back to the form, and names nobody when neither says', () => {
    expect(claimedClientId(undefined, 'grant_type=x&client_id=cli_f')).toBe('cli_f');
    expect(claimedClientId('Bearer abc', undefined)).toBeUndefined();
    expect(claimedClientId(basic(''), undefined)).toBeUndefined();
    expect(claimedClientId(basic('%E0%A4%A'), undefined)).toBe('%E0%A4%A');
    expect(claimedClientId(undefined, `client_id=${'x'.repeat(256)}`)).toBeUndefined();
  });
});

describe('clientAuthenticated', () => {
  it('is false only for the errors of a failed client check', () => {
    expect(clientAuthenticated(200, {})).toBe(true);
    expect(clientAuthenticated(400, { error: 'invalid_grant' })).toBe(true);
    expect(clientAuthenticated(401, { error: 'invalid_client' })).toBe(false);
    expect(clientAuthenticated(400, { error: 'invalid_request' })).toBe(false);
  });
});
