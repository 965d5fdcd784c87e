import { afterEach, describe, expect, it } from 'vitest';
import type { MessageReceipt } from '../../src/protocol';
import type { ReadState } from '../../src/bridge';
import { newCore, openClient, type Client } from './harness';
import { collectMemberPages } from '../support/collectMemberPages';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function users(core: ReturnType<typeof newCore>, ...ids: string[]): Promise<Client[]> {
  const clients = await Promise.all(ids.map((id) => openClient(core, id)));
  open.push(...clients);
  return clients;
}

const state = (c: Client, id: number) => c.values.get(id) as ReadState | null | undefined;

describe('the seed flow through Comlink', () => {
  it('c2c: send with receipt → peer receives → markRead → sender sees "Read" live, in receipts and in getReadReceipts', async () => {
    const core = newCore();
    const conv = await core.admin.createC2C('alice', 'bob');
    const [alice, bob] = (await users(core, 'alice', 'bob')) as [Client, Client];
    await alice.until(() => alice.api.getConversations(), (cs) => cs.some((c) => c.id === conv.id), 'alice sees the conversation');

    const receiptsSub = await alice.sub({ kind: 'receipts' });
    const msg = await alice.api.sendMessage({ convId: conv.id, text: 'hello', needReadReceipt: true });
    expect(msg).toMatchObject({ status: 'pending', senderId: 'alice', needReadReceipt: true, seq: null });
    const aliceState = await alice.sub({ kind: 'read-state', messageId: msg.id });
    // The flusher sends at once and bob's worker says it stored the message (issue 10.5), so the
    // first value may already be "Delivered" (a clean-clone CI saw it before "Sent").
    await alice.until(() => state(alice, aliceState), (s) => s?.label === 'Sending…' || s?.label === 'Sent' || s?.label === 'Delivered', 'a first read state');
    expect(state(alice, aliceState)).toMatchObject({ messageId: msg.id, direction: 'outgoing', readCount: 0, isPeerRead: false });

    await alice.api.flush();
    // "Delivered" as soon as bob's worker has stored it and said so (issue 10.5), which may come first.
    await alice.until(() => state(alice, aliceState), (s) => s?.label === 'Sent' || s?.label === 'Delivered', 'Sent');

    const bobState = await bob.sub({ kind: 'read-state', messageId: msg.id });
    await bob.until(() => state(bob, bobState), (s) => s?.direction === 'incoming', 'bob receives the message');
    expect(state(bob, bobState)).toMatchObject({ ackStatus: 'none', label: '' });

    const res = await bob.api.markRead([msg.id]);
    expect(res).toEqual({ queued: 1, alreadyRead: 0, skipped: [] });
    // Durable at once: the ack is queued (or already flushed) when markRead resolves.
    const stored = await bob.db.messages.get(msg.id);
    expect(stored?.readAt).toBeGreaterThan(0);
    expect(['pending', 'sent']).toContain(stored?.ackStatus);
    await bob.api.flush();
    await bob.until(() => state(bob, bobState), (s) => s?.ackStatus === 'sent', 'bob: ack sent');

    const read = await alice.until(() => state(alice, aliceState), (s) => s?.label === 'Read', 'alice sees Read');
    expect(read).toMatchObject({ isPeerRead: true, direction: 'outgoing', status: 'sent' });
    // receipts$ fires once the receipt is stored; the read state may show it a moment earlier (preview)
    await alice.until(() => alice.values.get(receiptsSub) as MessageReceipt[] | undefined, (b) => b?.some((r) => r.messageId === msg.id && r.isPeerRead) === true, 'the receipts batch');

    const pulled = await alice.api.getReadReceipts([msg.id]);
    expect(pulled).toEqual([{ messageId: msg.id, receipt: expect.objectContaining({ messageId: msg.id, isPeerRead: true, convType: 'c2c' }) }]);
  });

  it('group of 3: "1 read · 2 unread", then member pages READ/UNREAD with no member twice and none missing', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol', 'dave'] });
    const [alice, bob] = (await users(core, 'alice', 'bob')) as [Client, Client];
    await alice.until(() => alice.api.getConversations(), (cs) => cs.length === 1, 'alice sees the group');

    const msg = await alice.api.sendMessage({ convId: 'team', text: 'standup?', needReadReceipt: true });
    const aliceState = await alice.sub({ kind: 'read-state', messageId: msg.id });
    await alice.api.flush();
    await alice.until(() => state(alice, aliceState), (s) => s?.label === '0 read · 3 unread', 'nobody read yet');

    await bob.until(() => bob.db.messages.get(msg.id), (m) => m !== undefined, 'bob receives it');
    await bob.api.markRead([{ id: msg.id }]);
    await bob.api.flush();
    const s = await alice.until(() => state(alice, aliceState), (x) => x?.label === '1 read · 2 unread', '1 read · 2 unread');
    expect(s).toMatchObject({ readCount: 1, unreadCount: 2, isPeerRead: false });
    expect(await alice.api.getReadReceipts([msg.id])).toEqual([{ messageId: msg.id, receipt: expect.objectContaining({ readCount: 1, unreadCount: 2 }) }]);

    const collect = (filter: 'read' | 'unread') => collectMemberPages((f, cursor, count) => alice.api.getReadMembers(msg.id, { filter: f, cursor, count }), filter);
    const readers = await collect('read');
    expect(readers.map((m) => m.userId)).toEqual(['bob']);
    expect(readers[0]?.readAt).toBeGreaterThan(0);
    const unread = (await collect('unread')).map((m) => m.userId);
    expect(unread.sort()).toEqual(['carol', 'dave']);
    expect(new Set(unread).size).toBe(unread.length);

    // One snapshot for both lists: carol reads after the READ page was taken; the UNREAD walk
    // started at that page's `at` still lists her, so together they are the audience, once each.
    const first = await alice.api.getReadMembers(msg.id, { filter: 'read', count: 10 });
    expect(first.members.map((m) => m.userId)).toEqual(['bob']);
    expect(first.at).toEqual(expect.any(Number));
    await core.ackBatch('carol', { type: 'ack-batch', batchId: 'flow-carol-1', acks: [{ m: msg.id, t: 5 }] });
    const atSnapshot = await alice.api.getReadMembers(msg.id, { filter: 'unread', count: 10, at: first.at });
    expect(atSnapshot.members.map((m) => m.userId)).toEqual(['carol', 'dave']);
    expect(atSnapshot.at).toBe(first.at);
    const now = await alice.api.getReadMembers(msg.id, { filter: 'unread', count: 10 });
    expect(now.members.map((m) => m.userId)).toEqual(['dave']);
  });
});
