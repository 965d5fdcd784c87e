import { afterEach, describe, expect, it } from 'vitest';
import type { ReadState, SyncStatus } from '../../src/bridge';
import { MemoryTransport } from '../../worker/transport/MemoryTransport';
import { ackStatus, newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function track(c: Promise<Client>): Promise<Client> {
  const client = await c;
  open.push(client);
  return client;
}

describe('reload: closing and reopening the database', () => {
  it('shows the same read state, receipts and member pages, even offline', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
    const alice = await track(openClient(core, 'alice'));
    const bob = await track(openClient(core, 'bob'));
    const m = await alice.api.sendMessage({ convId: 'team', text: 'x', needReadReceipt: true });
    await alice.api.flush();
    await bob.until(() => bob.db.messages.get(m.id), (r) => r !== undefined, 'bob has it');
    await bob.api.markRead([m.id]);
    await bob.api.flush();
    const rs = await alice.sub({ kind: 'read-state', messageId: m.id });
    await alice.until(() => alice.values.get(rs) as ReadState | undefined, (s) => s?.label === '1 read · 1 unread', 'live');
    const page = await alice.api.getReadMembers(m.id, { filter: 'read' });
    await alice.close();

    const offline = new MemoryTransport(core, 'alice');
    offline.setOffline(true);
    const again = await track(openClient(core, 'alice', { idb: alice.idb, transport: offline }));
    const rs2 = await again.sub({ kind: 'read-state', messageId: m.id });
    const s = await again.until(() => again.values.get(rs2) as ReadState | undefined, (x) => x !== undefined, 'state after reload');
    expect(s).toMatchObject({ label: '1 read · 1 unread', readCount: 1, unreadCount: 1, status: 'sent' });
    expect(await again.api.getReadReceipts([m.id])).toEqual([{ messageId: m.id, receipt: expect.objectContaining({ readCount: 1, unreadCount: 1 }) }]);
    expect(await again.api.getReadMembers(m.id, { filter: 'read' })).toEqual(page);
    await expect(again.api.getReadMembers(m.id, { filter: 'unread' })).rejects.toMatchObject({ code: 'network' });
    expect(await again.api.getConversations()).toEqual([expect.objectContaining({ id: 'team', memberCount: 3 })]);
  });

  it('acks queued offline survive a reload and are flushed by the next worker', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const alice = await track(openClient(core, 'alice'));
    const m = await alice.api.sendMessage({ convId: 'team', text: 'x', needReadReceipt: true });
    await alice.api.flush();

    const bobNet = new MemoryTransport(core, 'bob');
    const bob = await track(openClient(core, 'bob', { transport: bobNet }));
    await bob.until(() => bob.db.messages.get(m.id), (r) => r !== undefined, 'bob has it');
    bobNet.setOffline(true);
    await bob.api.setEnvironment({ online: false });
    expect((await bob.api.markRead([m.id])).queued).toBe(1);
    await bob.close();
    expect(await core.queryReceipts('alice', { type: 'receipt-query', messageIds: [m.id] })).toMatchObject({ receipts: [{ readCount: 0 }] });

    const bob2 = await track(openClient(core, 'bob', { idb: bob.idb }));
    const status = await bob2.sub({ kind: 'sync-status' });
    await bob2.api.flush();
    await bob2.until(() => bob2.values.get(status) as SyncStatus | undefined, (x) => x?.pendingAcks === 0, 'flushed after reload');
    expect(await core.queryReceipts('alice', { type: 'receipt-query', messageIds: [m.id] })).toMatchObject({ receipts: [{ readCount: 1 }] });
    expect(await ackStatus(bob2.db, m.id)).toBe('sent');
  });

  it('catches up after a reconnect: messages missed while offline and receipts that changed', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const net = new MemoryTransport(core, 'alice');
    const alice = await track(openClient(core, 'alice', { transport: net }));
    const bob = await track(openClient(core, 'bob'));
    const m = await alice.api.sendMessage({ convId: 'team', text: 'x', needReadReceipt: true });
    await alice.api.flush();
    const rs = await alice.sub({ kind: 'read-state', messageId: m.id });
    await alice.until(() => alice.values.get(rs) as ReadState | undefined, (s) => s?.label === '0 read · 1 unread', 'sent');

    net.setOffline(true);
    await bob.until(() => bob.db.messages.get(m.id), (r) => r !== undefined, 'bob has it');
    await bob.api.markRead([m.id]);
    await bob.api.flush();
    const reply = await bob.api.sendMessage({ convId: 'team', text: 'seen it' });
    await bob.api.flush();
    expect(await alice.db.messages.get(reply.id)).toBeUndefined();

    net.setOffline(false);
    await alice.api.setEnvironment({ online: true });
    await alice.until(() => alice.values.get(rs) as ReadState | undefined, (s) => s?.label === '1 read · 0 unread', 'receipt caught up');
    await alice.until(() => alice.db.messages.get(reply.id), (r) => r?.text === 'seen it', 'missed message pulled');
  });
});
