/**
 * Support tickets against the real Postgres: each user sees only their own, newest first.
 */
import { Actor } from '@cap/contracts';
import { rejects, ServiceFixture } from '../../test/service-fixture';

let f: ServiceFixture;

beforeAll(async () => {
  f = await ServiceFixture.start();
});

afterAll(async () => {
  await f.stop();
});

const open = (actor: Actor, subject = 'Help', request_ids: string[] = []) =>
  f.tickets.create({ v: 1, actor, subject, body: 'Something is off.', request_ids });

async function listAll(actor: Actor, limit: number): Promise<string[]> {
  const seen: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await f.tickets.list({ v: 1, actor, limit, starting_after: after });
    seen.push(...page.data.map((t) => t.id));
    if (!page.has_more) break;
    after = page.data[page.data.length - 1].id;
  }
  return seen;
}

describe('tickets', () => {
  it('opens a ticket and reads it back', async () => {
    const user = await f.user();
    const ticket = await open(user, '429s since noon', ['req_abc', 'req_def']);
    expect(ticket).toEqual({
      id: expect.stringMatching(/^tkt_[0-9A-Za-z]{20}$/),
      subject: '429s since noon',
      body: 'Something is off.',
      status: 'open',
      request_ids: ['req_abc', 'req_def'],
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      updated_at: ticket.created_at,
    });
    expect(await f.tickets.get({ v: 1, actor: user, ticket_id: ticket.id })).toEqual(ticket);
    const row = await f.db.client.supportTicket.findUniqueOrThrow({ where: { id: ticket.id } });
    expect(row.userId).toBe(user.user_id);
  });

  it("never shows one user's tickets to another", async () => {
    const alice = await f.user();
    const bob = await f.user();
    const mine = await open(alice);
    await open(bob);
    const err = await rejects(
      f.tickets.get({ v: 1, actor: bob, ticket_id: mine.id }),
      'not_found',
      'id',
    );
    expect(err.message).toBe(`No ticket ${mine.id} is visible to this key.`);
    expect(await listAll(bob, 100)).not.toContain(mine.id);
    expect(await listAll(alice, 100)).toEqual([mine.id]);
    // Nor can another's ticket serve as a cursor.
    await rejects(
      f.tickets.list({ v: 1, actor: bob, limit: 10, starting_after: mine.id }),
      'invalid_request',
      'starting_after',
    );
  });

  it('is 404 not_found for an unknown ticket', async () => {
    const user = await f.user();
    await rejects(f.tickets.get({ v: 1, actor: user, ticket_id: 'tkt_nope' }), 'not_found', 'id');
  });

  it('lists newest first in pages, ordering tickets of the same instant by id', async () => {
    const user = await f.user();
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await open(user, `t${i}`)).id);
    const first = await f.tickets.list({ v: 1, actor: user, limit: 2 });
    expect(first.has_more).toBe(true);
    expect(await listAll(user, 2)).toEqual([...made].reverse());

    await f.db.client.supportTicket.updateMany({
      where: { userId: user.user_id },
      data: { createdAt: new Date('2026-01-01T00:00:00Z') },
    });
    expect(await listAll(user, 2)).toEqual([...made].sort().reverse());
    const last = await f.tickets.list({ v: 1, actor: user, limit: 5 });
    expect(last.has_more).toBe(false);
  });
});

describe('security: a key confined to one project reads only that project’s tickets', () => {
  it('sees the tickets opened with keys confined to its project, and no others', async () => {
    const user = await f.user();
    const home = await f.project(user);
    const other = await f.project(user);
    const personal = await open(user, 'billing question');
    const fromHome = await open({ ...user, confined_to: home }, 'CI 429s');
    const fromOther = await open({ ...user, confined_to: other }, 'other CI');
    const confined: Actor = { ...user, confined_to: home };

    expect(await listAll(confined, 1)).toEqual([fromHome.id]);
    expect((await f.tickets.get({ v: 1, actor: confined, ticket_id: fromHome.id })).subject).toBe(
      'CI 429s',
    );
    for (const hidden of [personal.id, fromOther.id]) {
      await rejects(f.tickets.get({ v: 1, actor: confined, ticket_id: hidden }), 'not_found', 'id');
      // Nor can a hidden ticket serve as a cursor into the list.
      await rejects(
        f.tickets.list({ v: 1, actor: confined, limit: 10, starting_after: hidden }),
        'invalid_request',
        'starting_after',
      );
    }
    // The user's unconfined credentials still see every ticket they opened.
    expect((await listAll(user, 10)).sort()).toEqual(
      [personal.id, fromHome.id, fromOther.id].sort(),
    );
  });
});
