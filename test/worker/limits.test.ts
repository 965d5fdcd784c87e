import { TransientError } from '../../src/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/protocol';
import type { ReadState, SyncStatus } from '../../src/bridge';
import { newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

describe('wire limits are the library\'s business', () => {
  it('getReadReceipts splits a large request by the server\'s maxReceiptQuery; member pages are capped at maxMemberPage', async () => {
    const core = newCore({ limits: { maxReceiptQuery: 2, maxMemberPage: 2 } });
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'b1', 'b2', 'b3', 'b4', 'b5'] });
    const alice = await openClient(core, 'alice');
    open.push(alice);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await alice.api.sendMessage({ convId: 'team', text: `m${i}`, needReadReceipt: true })).id);
    await alice.api.flush();
    await alice.until(() => alice.db.messages.where('status').equals('sent').count(), (n) => n === 5, 'all sent');

    const before = alice.transport.count('queryReceipts');
    const receipts = await alice.api.getReadReceipts(ids);
    expect(receipts.map((r) => r.messageId)).toEqual(ids);
    expect(receipts.every((r) => r.receipt?.unreadCount === 5 && r.receipt.readCount === 0)).toBe(true);
    expect(alice.transport.count('queryReceipts') - before).toBe(3);

    const page = await alice.api.getReadMembers(ids[0] as string, { filter: 'unread', count: 1000 });
    expect(page.members).toHaveLength(2);
    expect(page.isFinished).toBe(false);
    const asked = alice.transport.log.filter((e) => e.kind === 'memberPage').at(-1)?.request as { count: number };
    expect(asked.count).toBe(2);
  });
});

describe('sync status', () => {
  it('a 5xx from a reachable server is shown as the last error, not as offline', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const alice = await openClient(core, 'alice');
    open.push(alice);
    const status = await alice.sub({ kind: 'sync-status' });
    await alice.until(() => alice.values.get(status) as SyncStatus | undefined, (s) => s?.connection === 'online', 'online');

    alice.transport.failNext('pullMessages', new TransientError('server', 'Service Unavailable', { status: 503 }), 5);
    await alice.api.setEnvironment({ online: true }); // triggers a catch-up pull
    const seen = await alice.until(
      () => alice.values.get(status) as SyncStatus | undefined,
      (s) => s?.lastError?.code === 'server',
      'the 503 as last error',
    );
    expect(seen?.connection).toBe('online');
  });

  it('shows offline while the network is gone and the queue while it waits, then online and empty', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const alice = await openClient(core, 'alice');
    open.push(alice);
    const status = await alice.sub({ kind: 'sync-status' });
    await alice.until(() => alice.values.get(status) as SyncStatus | undefined, (s) => s?.connection === 'online', 'online');

    alice.transport.setOffline(true);
    await alice.api.setEnvironment({ online: false });
    const m = await alice.api.sendMessage({ convId: 'team', text: 'x', needReadReceipt: true });
    const rs = await alice.sub({ kind: 'read-state', messageId: m.id });
    await alice.until(() => alice.values.get(rs) as ReadState | undefined, (s) => s?.label === 'Sending…', 'Sending…');
    await alice.until(
      () => alice.values.get(status) as SyncStatus | undefined,
      (s) => s?.connection === 'offline' && s.pendingMessages === 1,
      'offline with one pending message',
    );

    alice.transport.setOffline(false);
    await alice.api.setEnvironment({ online: true });
    await alice.api.flush();
    await alice.until(
      () => alice.values.get(status) as SyncStatus | undefined,
      (s) => s?.connection === 'online' && s.pendingMessages === 0 && s.lastSyncAt !== null,
      'online and flushed',
    );
    await alice.until(() => alice.values.get(rs) as ReadState | undefined, (s) => s?.label === '0 read · 1 unread', 'sent');
  });

  it('shows a sync failure as lastError until a later catch-up succeeds', async () => {
    const core = newCore();
    const alice = await openClient(core, 'alice');
    open.push(alice);
    const status = await alice.sub({ kind: 'sync-status' });
    alice.transport.failNext('pullMessages', new ProtocolError('pull-messages-result: messages: invalid'));
    await alice.worker.engine.catchUp();
    const failed = await alice.until(() => alice.values.get(status) as SyncStatus | undefined, (s) => s?.lastError !== null && s?.lastError !== undefined, 'error shown');
    expect(failed?.lastError).toMatchObject({ code: 'bad-payload' });
    await alice.worker.engine.catchUp();
    await alice.until(() => alice.values.get(status) as SyncStatus | undefined, (s) => s?.lastError === null, 'error cleared');
  });
});
