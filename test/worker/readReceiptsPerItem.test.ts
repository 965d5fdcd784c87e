/**
 * getReadReceipts answers every message asked, in order: its receipt, or a
 * typed reason why there is none (issue 11.5), like markRead's `skipped`
 * and the seed's per-message callback. Online and offline alike.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mid, newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function client(core: ReturnType<typeof newCore>, userId: string): Promise<Client> {
  const c = await openClient(core, userId);
  open.push(c);
  return c;
}

async function sent(c: Client, convId: string, needReadReceipt: boolean) {
  const m = await c.api.sendMessage({ convId, text: 'x', needReadReceipt });
  await c.api.flush();
  await c.until(() => c.db.messages.get(m.id), (r) => r?.status === 'sent', 'message sent');
  return m;
}

async function world() {
  const core = newCore();
  await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
  const alice = await client(core, 'alice');
  const bob = await client(core, 'bob');
  const mine = await sent(alice, 'team', true);
  const plain = await sent(alice, 'team', false);
  const theirs = await sent(bob, 'team', true);
  await alice.until(() => alice.db.messages.get(theirs.id), (m) => m !== undefined, 'alice has bob message');
  await bob.api.markRead([mine.id]);
  await bob.api.flush();
  return { core, alice, bob, mine, plain, theirs };
}

describe('getReadReceipts: one result per message asked', () => {
  it('mixes my messages with others\', receipt-less and unknown ones: each gets its receipt or its reason, in order', async () => {
    const { alice, mine, plain, theirs } = await world();
    const results = await alice.api.getReadReceipts([theirs.id, mine.id, plain.id, mid(999), { id: mine.id }]);
    expect(results).toEqual([
      { messageId: theirs.id, reason: 'not-sender' },
      { messageId: mine.id, receipt: expect.objectContaining({ messageId: mine.id, readCount: 1, unreadCount: 1 }) },
      { messageId: plain.id, reason: 'receipt-not-requested' },
      { messageId: mid(999), reason: 'not-found' },
      { messageId: mine.id, receipt: expect.objectContaining({ messageId: mine.id, readCount: 1 }) },
    ]);
  });

  it('a message not stored here is answered by the server, per item', async () => {
    const { alice, mine, theirs } = await world();
    await alice.db.messages.delete(theirs.id);
    expect(await alice.api.getReadReceipts([theirs.id, mine.id])).toEqual([
      { messageId: theirs.id, reason: 'not-sender' },
      { messageId: mine.id, receipt: expect.objectContaining({ readCount: 1 }) },
    ]);
  });

  it('my message still on its way answers not-sent', async () => {
    const { alice } = await world();
    alice.transport.setOffline(true);
    const pending = await alice.api.sendMessage({ convId: 'team', text: 'later', needReadReceipt: true });
    expect(await alice.api.getReadReceipts([pending.id])).toEqual([{ messageId: pending.id, reason: 'not-sent' }]);
  });

  it('offline, answers from the store what it knows and not-found for the rest', async () => {
    const { alice, mine, plain, theirs } = await world();
    await alice.api.getReadReceipts([mine.id]); // stored: 1 read
    alice.transport.setOffline(true);
    expect(await alice.api.getReadReceipts([mine.id, theirs.id, plain.id, mid(998)])).toEqual([
      { messageId: mine.id, receipt: expect.objectContaining({ readCount: 1, unreadCount: 1 }) },
      { messageId: theirs.id, reason: 'not-sender' },
      { messageId: plain.id, reason: 'receipt-not-requested' },
      { messageId: mid(998), reason: 'not-found' },
    ]);
  });
});
