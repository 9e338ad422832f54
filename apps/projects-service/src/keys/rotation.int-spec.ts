/**
 * Key rotation and last-use times against the real Postgres and Redis: which secrets
 * authenticate during and after a grace period, what gateways are told, and batched touches.
 */
import { Actor } from '@cap/contracts';
import { IssuedKey, rejects, ServiceFixture } from '../../test/service-fixture';

let f: ServiceFixture;

beforeAll(async () => {
  f = await ServiceFixture.start();
});

afterAll(async () => {
  await f.stop();
});

async function ownedKey(extra: { expires_at?: string } = {}) {
  const owner = await f.user();
  const prj = await f.project(owner);
  return { owner, prj, issued: await f.issue(owner, prj, extra) };
}

function rotate(actor: Actor, issued: IssuedKey, grace: number, next = f.newSecret()) {
  return f.keys
    .rotate({ v: 1, actor, key_id: issued.key.id, grace_period_seconds: grace, ...next })
    .then((key) => ({ key, next }));
}

/** Ends the grace period now, as the clock would. */
async function endGrace(keyId: string): Promise<void> {
  await f.db.client.apiKey.update({
    where: { id: keyId },
    data: { previousExpiresAt: new Date(Date.now() - 1_000) },
  });
}

describe('keys.rotate', () => {
  it('keeps both secrets working during the grace period, then only the new one', async () => {
    const { owner, issued } = await ownedKey();
    const t0 = Date.now();
    const { key, next } = await rotate(owner, issued, 3_600);

    expect(key).toMatchObject({
      id: issued.key.id,
      created_by: owner.user_id,
      redacted: `sk_live_…${next.last4}`,
      revoked_at: null,
    });
    const graceEnd = Date.parse(key.previous_secret_expires_at!);
    expect(graceEnd).toBeGreaterThan(t0 + 3_590_000);
    expect(graceEnd).toBeLessThan(Date.now() + 3_601_000);

    const viaNew = await f.authenticate(next.secret_hash);
    const viaOld = await f.authenticate(issued.hash);
    expect(viaNew).toMatchObject({ key_id: key.id, expires_at: null });
    // The old secret's principal expires with its grace period, so caches drop it on time.
    expect(viaOld).toEqual({
      ...viaNew,
      expires_at: key.previous_secret_expires_at,
      superseded: true,
    });

    await endGrace(key.id);
    expect(await f.authenticate(issued.hash)).toBeNull();
    expect(await f.authenticate(next.secret_hash)).toEqual(viaNew);
  });

  it("caps the old secret's expiry at the key's own", async () => {
    const expires = new Date(Date.now() + 600_000);
    const { owner, issued } = await ownedKey({ expires_at: expires.toISOString() });
    const { key } = await rotate(owner, issued, 86_400);
    const viaOld = await f.authenticate(issued.hash);
    expect(viaOld?.expires_at).toBe(key.expires_at);
    expect(Date.parse(viaOld!.expires_at!)).toBeLessThanOrEqual(expires.getTime());
  });

  it('with a grace period of 0, stops the old secret at once', async () => {
    const { owner, issued } = await ownedKey();
    const { key, next } = await rotate(owner, issued, 0);
    expect(key.previous_secret_expires_at).toBeNull();
    expect(await f.authenticate(issued.hash)).toBeNull();
    expect(await f.authenticate(next.secret_hash)).not.toBeNull();
    const row = await f.db.client.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.previousSecretHash).toBeNull();
    expect(row.previousExpiresAt).toBeNull();
  });

  it('keeps one previous secret: rotating again retires the first at once', async () => {
    const { owner, issued } = await ownedKey();
    const second = await rotate(owner, issued, 3_600);
    const third = await rotate(owner, issued, 3_600);
    expect(await f.authenticate(issued.hash)).toBeNull();
    expect(await f.authenticate(second.next.secret_hash)).not.toBeNull();
    expect(await f.authenticate(third.next.secret_hash)).not.toBeNull();
    // And a rotation without grace retires both the current secret and the one in grace.
    const fourth = await rotate(owner, issued, 0);
    expect(await f.authenticate(second.next.secret_hash)).toBeNull();
    expect(await f.authenticate(third.next.secret_hash)).toBeNull();
    expect(await f.authenticate(fourth.next.secret_hash)).not.toBeNull();
  });

  it('changes nothing when the same rotation is delivered twice', async () => {
    const { owner, issued } = await ownedKey();
    const first = await rotate(owner, issued, 3_600);
    const again = await rotate(owner, issued, 3_600, first.next);
    expect(again.key).toEqual(first.key);
    expect(await f.authenticate(issued.hash)).not.toBeNull();
  });

  it('tells every gateway to drop the key, with or without grace', async () => {
    const { owner, issued } = await ownedKey();
    await rotate(owner, issued, 60);
    await rotate(owner, issued, 0);
    expect(await f.revokedEventsFor([issued.key.id], 2)).toEqual([
      { v: 1, key_ids: [issued.key.id] },
      { v: 1, key_ids: [issued.key.id] },
    ]);
  });

  it('revoking stops both secrets; rotating a revoked key is 404 key_not_found', async () => {
    const { owner, issued } = await ownedKey();
    const { next } = await rotate(owner, issued, 3_600);
    await f.keys.revoke({ v: 1, actor: owner, key_id: issued.key.id });
    expect(await f.authenticate(issued.hash)).toBeNull();
    expect(await f.authenticate(next.secret_hash)).toBeNull();
    await rejects(rotate(owner, issued, 60), 'key_not_found', 'id');
  });

  it('is 404 key_not_found for a stranger and for an unknown key', async () => {
    const { issued } = await ownedKey();
    const stranger = await f.user();
    await rejects(rotate(stranger, issued, 60), 'key_not_found', 'id');
    await rejects(
      f.keys.rotate({
        v: 1,
        actor: stranger,
        key_id: 'key_unknown',
        grace_period_seconds: 0,
        ...f.newSecret(),
      }),
      'key_not_found',
      'id',
    );
  });

  it("lets the previous secret stop with its creator's membership", async () => {
    const owner = await f.user();
    const dev = await f.user();
    const prj = await f.project(owner, [[dev, 'developer']]);
    const issued = await f.issue(dev, prj);
    const { next } = await rotate(dev, issued, 3_600);
    await f.members.remove({ v: 1, actor: owner, project_id: prj, user_id: dev.user_id });
    expect(await f.authenticate(issued.hash)).toBeNull();
    expect(await f.authenticate(next.secret_hash)).toBeNull();
  });
});

describe('keys.touch', () => {
  const lastUsed = async (id: string) =>
    (await f.db.client.apiKey.findUniqueOrThrow({ where: { id } })).lastUsedAt?.toISOString();

  it('records the latest use of each key, never moving backwards', async () => {
    const { owner, prj, issued } = await ownedKey();
    const other = await f.issue(owner, prj);
    const t = (s: number) => new Date(Date.now() - s * 1_000).toISOString();
    const [t30, t20, t10] = [t(30), t(20), t(10)];

    expect(
      await f.keys.touch({
        v: 1,
        used: [
          { key_id: issued.key.id, at: t20 },
          { key_id: issued.key.id, at: t30 },
          { key_id: other.key.id, at: t30 },
          { key_id: 'key_unknown', at: t10 },
        ],
      }),
    ).toBeNull();
    expect(await lastUsed(issued.key.id)).toBe(t20);
    expect(await lastUsed(other.key.id)).toBe(t30);

    // An older batch arriving late changes nothing; a newer one moves it forward.
    await f.keys.touch({ v: 1, used: [{ key_id: issued.key.id, at: t30 }] });
    expect(await lastUsed(issued.key.id)).toBe(t20);
    await f.keys.touch({ v: 1, used: [{ key_id: issued.key.id, at: t10 }] });
    expect(await lastUsed(issued.key.id)).toBe(t10);

    const listed = await f.keys.list({ v: 1, actor: owner, project_id: prj, limit: 10 });
    const seen = listed.data.find((k) => k.id === issued.key.id);
    expect(seen?.last_used_at).toBe(t10.replace(/\.\d{3}Z$/, 'Z'));
  });

  it('never records a time in the future, and drops malformed times', async () => {
    const { issued } = await ownedKey();
    const before = Date.now();
    await f.keys.touch({
      v: 1,
      used: [
        { key_id: issued.key.id, at: new Date(Date.now() + 3_600_000).toISOString() },
        { key_id: issued.key.id, at: 'not a time' },
      ],
    });
    const at = Date.parse((await lastUsed(issued.key.id))!);
    expect(at).toBeGreaterThanOrEqual(before - 1_000);
    expect(at).toBeLessThanOrEqual(Date.now());
  });

  it('accepts an empty batch', async () => {
    await expect(f.keys.touch({ v: 1, used: [] })).resolves.toBeNull();
  });

  it('takes a batch of a thousand entries', async () => {
    const { issued } = await ownedKey();
    const at = new Date(Date.now() - 5_000).toISOString();
    const used = Array.from({ length: 999 }, (_, i) => ({ key_id: `key_x${i}`, at }));
    used.push({ key_id: issued.key.id, at });
    await f.keys.touch({ v: 1, used });
    expect(await lastUsed(issued.key.id)).toBe(at);
  });
});
