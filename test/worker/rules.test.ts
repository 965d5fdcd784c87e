import { afterEach, describe, expect, it } from 'vitest';
import type { ReadState, SyncStatus } from '../../src/bridge';
import { ackStatus, mid, newCore, openClient, toWire, type Client } from './harness';
import { sendKey } from '../../worker/store/enqueueMessage';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function client(core: ReturnType<typeof newCore>, userId: string): Promise<Client> {
  const c = await openClient(core, userId);
  open.push(c);
  await c.worker.engine.idle();
  return c;
}

/** Sends through the worker and waits until the server accepted it. */
async function sent(c: Client, convId: string, needReadReceipt: boolean) {
  const m = await c.api.sendMessage({ convId, text: 'x', needReadReceipt });
  await c.api.flush();
  await c.until(() => c.db.messages.get(m.id), (r) => r?.status === 'sent', 'message sent');
  return m;
}

const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code?: string; name?: string }) => e.code);

describe('receipt rules the client enforces', () => {
  it('skips my own messages and messages sent without needReadReceipt, and reports unknown ids', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const alice = await client(core, 'alice');
    const bob = await client(core, 'bob');
    const own = await sent(alice, 'team', true);
    const plain = await sent(bob, 'team', false);
    await alice.until(() => alice.db.messages.get(plain.id), (m) => m !== undefined, 'alice has bob message');

    const res = await alice.api.markRead([own.id, plain.id, mid(999)]);
    expect(res.queued).toBe(0);
    expect(res.skipped).toEqual([
      { messageId: own.id, reason: 'own-message' },
      { messageId: plain.id, reason: 'receipt-not-requested' },
      { messageId: mid(999), reason: 'not-found' },
    ]);
    expect(await alice.db.outbox.count()).toBe(0);
  });

  it('acknowledging twice changes nothing', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const alice = await client(core, 'alice');
    const bob = await client(core, 'bob');
    const m = await sent(alice, 'team', true);
    await bob.until(() => bob.db.messages.get(m.id), (r) => r !== undefined, 'bob has it');
    expect(await bob.api.markRead([m.id, m.id])).toMatchObject({ queued: 1, alreadyRead: 0 });
    const first = await bob.db.messages.get(m.id);
    expect(await bob.api.markRead([m.id])).toMatchObject({ queued: 0, alreadyRead: 1 });
    expect((await bob.db.messages.get(m.id))?.readAt).toBe(first?.readAt);
  });

  it('refuses a receipt-requesting message into a group type without receipts, at once and with its code', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'town', name: 'Town', groupType: 'community', members: ['alice', 'bob'] });
    const alice = await client(core, 'alice');
    await alice.until(() => alice.api.getConversations(), (cs) => cs.length === 1, 'group synced');
    const err = await alice.api.sendMessage({ convId: 'town', text: 'x', needReadReceipt: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'receipts-disabled', name: 'ReceiptRuleError' });
    expect(String((err as Error).message)).toContain('community');
    expect(await alice.db.messages.count()).toBe(0);
    // Without a receipt request the same group is fine.
    await expect(alice.api.sendMessage({ convId: 'town', text: 'x' })).resolves.toMatchObject({ status: 'pending' });
  });

  it('when the client could not know, the server refuses at flush time and the message shows as failed', async () => {
    const core = newCore({ receiptGroupTypes: ['public'] });
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const first = await client(core, 'alice');
    await first.until(() => first.api.getConversations(), (cs) => cs.length === 1, 'synced');
    // An older copy of the conversation and no cached server config: the client cannot tell.
    await first.db.conversations.update('team', { receiptsEnabled: true });
    await first.db.meta.delete('config');
    await first.close();
    const alice = await openClient(core, 'alice', { idb: first.idb, worker: { sync: false } });
    open.push(alice);
    const m = await alice.api.sendMessage({ convId: 'team', text: 'x', needReadReceipt: true });
    const rs = await alice.sub({ kind: 'read-state', messageId: m.id });
    await alice.api.flush();
    const s = await alice.until(() => alice.values.get(rs) as ReadState | undefined, (x) => x?.status === 'failed', 'failed');
    expect(s?.error?.code).toBe('receipts-disabled');
    expect(s?.label).toMatch(/^Failed: /);
  });

  it('a message into a conversation I am not a member of is queued, then refused by the server and shown failed', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'other', name: 'Other', groupType: 'work', members: ['bob', 'carol'] });
    const alice = await client(core, 'alice');
    const m = await alice.api.sendMessage({ convId: 'other', text: 'x', needReadReceipt: true });
    await alice.api.flush();
    const row = await alice.until(() => alice.db.messages.get(m.id), (r) => r?.status === 'failed', 'refused');
    expect(row?.error?.code).toBe('not-member');
  });

  it('a non-member acknowledgement is rejected by the server, shown as rejected, and does not block the queue', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'other', name: 'Other', groupType: 'work', members: ['bob', 'carol'] });
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'carol'] });
    const carol = await client(core, 'carol');
    const foreign = await sent(carol, 'other', true);
    const mine = await sent(carol, 'team', true);
    const alice = await client(core, 'alice');
    const status = await alice.sub({ kind: 'sync-status' });
    // The app hands alice a message of a group she is not in (e.g. forwarded by its own backend).
    await alice.api.receiveMessages([toWire(await carol.db.messages.get(foreign.id))]);
    await alice.until(() => alice.db.messages.get(mine.id), (m) => m !== undefined, 'alice has the team message');

    expect((await alice.api.markRead([foreign.id, mine.id])).queued).toBe(2);
    await alice.api.flush();
    const rejected = await alice.until(() => alice.db.messages.get(foreign.id), (m) => m?.ackStatus === 'rejected', 'rejected');
    expect(rejected?.ackError?.code).toBe('not-member');
    expect(await ackStatus(alice.db, mine.id)).toBe('sent');
    await alice.until(() => alice.values.get(status) as SyncStatus | undefined, (s) => s?.rejectedAcks === 1 && s.pendingAcks === 0, 'status counts');

    await alice.api.clearRejected();
    await alice.until(() => alice.values.get(status) as SyncStatus | undefined, (s) => s?.rejectedAcks === 0, 'cleared');
    expect((await alice.api.markRead([foreign.id])).queued).toBe(0);
  });

  it('clearRejected deletes a refused message with every outbox row left for it, whatever its key, and nothing else', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'other', name: 'Other', groupType: 'work', members: ['bob', 'carol'] });
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const alice = await client(core, 'alice');
    const refused = await alice.api.sendMessage({ convId: 'other', text: 'x', needReadReceipt: true });
    await alice.api.flush();
    await alice.until(() => alice.db.messages.get(refused.id), (r) => r?.status === 'failed', 'refused');
    // An outbox row still there for it (e.g. a second enqueue of the id answered later), keyed as sends are
    // keyed now (send order + id), next to a message still waiting: that one must be sent, not dropped.
    const left = { key: sendKey(1, refused.id), kind: 'message' as const, messageId: refused.id, convId: 'other', enqueuedAt: 1, message: { id: refused.id, convId: 'other', text: 'x', needReadReceipt: true, createdAt: 1 }, attempts: 0 };
    await alice.db.outbox.put(left as never);
    await alice.api.clearRejected();
    expect(await alice.db.messages.get(refused.id)).toBeUndefined();
    expect((await alice.db.outbox.toArray()).filter((r) => (r as { messageId?: string }).messageId === refused.id)).toEqual([]);
    const later = await sent(alice, 'team', true);
    expect((await alice.db.messages.get(later.id))?.status).toBe('sent');
  });

  it('only the sender may read receipts and member lists; member lists are for group messages', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const c2c = await core.admin.createC2C('alice', 'bob');
    const alice = await client(core, 'alice');
    const bob = await client(core, 'bob');
    const g = await sent(alice, 'team', true);
    const direct = await sent(alice, c2c.id, true);
    await bob.until(() => bob.db.messages.get(g.id), (m) => m !== undefined, 'bob has it');

    expect(await codeOf(bob.api.getReadMembers(g.id, { filter: 'read' }))).toBe('not-sender');
    expect(await bob.api.getReadReceipts([g.id])).toEqual([{ messageId: g.id, reason: 'not-sender' }]);
    // Unknown to bob locally: the server says no.
    expect(await codeOf(bob.api.getReadMembers(direct.id, { filter: 'unread' }))).toBe('not-sender');
    expect(await codeOf(alice.api.getReadMembers(direct.id, { filter: 'read' }))).toBe('invalid-argument');
    const page = await alice.api.getReadMembers(g.id, { filter: 'unread', count: 10_000 });
    expect(page).toMatchObject({ members: [{ userId: 'bob' }], isFinished: true });
  });

  it('a member who joined after the message is not in its audience', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const alice = await client(core, 'alice');
    const m = await sent(alice, 'team', true);
    const rs = await alice.sub({ kind: 'read-state', messageId: m.id });
    await core.admin.join('team', 'dave');
    const dave = await client(core, 'dave');
    // dave got the old message somehow (the app's own history); his ack is refused, counts stay.
    await dave.api.receiveMessages([toWire(await alice.db.messages.get(m.id))]);
    expect((await dave.api.markRead([m.id])).queued).toBe(1);
    await dave.api.flush();
    const refused = await dave.until(() => dave.db.messages.get(m.id), (r) => r?.ackStatus === 'rejected', 'dave ack rejected');
    expect(refused?.ackError?.code).toBe('not-in-audience');
    await alice.until(() => alice.values.get(rs) as ReadState | undefined, (s) => s?.label === '0 read · 1 unread', 'audience fixed at send time');
    expect(await alice.api.getReadReceipts([m.id])).toEqual([{ messageId: m.id, receipt: expect.objectContaining({ readCount: 0, unreadCount: 1 }) }]);
  });
});
