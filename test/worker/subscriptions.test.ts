import { TransientError } from '../../src/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { IDBKeyRange } from 'fake-indexeddb';
import type { Message } from '../../src/protocol';
import type { MessageWindow, ReadState, SyncStatus } from '../../src/bridge';
import { ReadSyncDb } from '../../worker/db/ReadSyncDb';
import { ReadSyncWorker } from '../../worker/ReadSyncWorker';
import { MemoryTransport } from '../../worker/transport/MemoryTransport';
import { mid, newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const incoming = (n: number, convId = 'team'): Message => ({
  id: mid(n),
  convId,
  convType: 'group',
  senderId: 'bob',
  text: `m${n}`,
  needReadReceipt: true,
  seq: n,
  sentAt: 1000 + n,
  audienceCount: 2,
});

async function alice(): Promise<Client> {
  const core = newCore();
  await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
  const c = await openClient(core, 'alice');
  open.push(c);
  return c;
}

describe('the multiplexed subscription channel', () => {
  it('identical queries share one worker-side query, and unsubscribing releases everything', async () => {
    const c = await alice();
    await c.api.receiveMessages([incoming(1)]);
    const ids = [
      await c.sub({ kind: 'read-state', messageId: mid(1) }),
      await c.sub({ kind: 'read-state', messageId: mid(1) }),
      await c.sub({ kind: 'messages', convId: 'team' }),
      await c.sub({ kind: 'messages', convId: 'team', limit: 100 }),
      await c.sub({ kind: 'sync-status' }),
      await c.sub({ kind: 'conversations' }),
      await c.sub({ kind: 'receipts' }),
    ];
    expect(await c.api.stats()).toEqual({ subscriptions: 7, queries: 5 });
    await c.until(() => c.values.get(ids[1] as number) as ReadState | undefined, (s) => s?.messageId === mid(1), 'value');
    await expect(c.api.subscribe([{ id: ids[0] as number, query: { kind: 'conversations' } }])).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(c.api.subscribe([{ id: 7, query: { kind: 'conversations' } }, { id: 7, query: { kind: 'sync-status' } }])).rejects.toMatchObject({ code: 'invalid-argument' });
    await c.api.unsubscribe(ids);
    expect(await c.api.stats()).toEqual({ subscriptions: 0, queries: 0 });
  });

  it('1,000 subscriptions to one message share one query and all get every update', async () => {
    const c = await alice();
    await c.api.receiveMessages([incoming(1)]);
    const ids = Array.from({ length: 1000 }, (_, i) => 10_000 + i);
    await c.api.subscribe(ids.map((id) => ({ id, query: { kind: 'read-state', messageId: mid(1) } })));
    expect(await c.api.stats()).toEqual({ subscriptions: 1000, queries: 1 });
    await c.until(() => ids.every((id) => (c.values.get(id) as ReadState | undefined)?.ackStatus === 'none'), Boolean, 'all 1,000 values');

    await c.api.markRead([mid(1)]);
    // The message exists only locally, so the server may refuse the ack ('rejected') before we look: any change counts.
    await c.until(() => ids.every((id) => ((c.values.get(id) as ReadState | undefined)?.ackStatus ?? 'none') !== 'none'), Boolean, 'all updated');
    await c.api.unsubscribe(ids.slice(1));
    expect(await c.api.stats()).toEqual({ subscriptions: 1, queries: 1 });
    await c.api.unsubscribe(ids.slice(0, 1));
    expect(await c.api.stats()).toEqual({ subscriptions: 0, queries: 0 });
  });

  it('a burst of 2,000 updates arrives coalesced: few batches, one entry per subscription per batch', async () => {
    const c = await alice();
    const n = 2000;
    await c.api.receiveMessages(Array.from({ length: n }, (_, i) => incoming(i + 1)));
    const subs = Array.from({ length: n }, (_, i) => ({ id: 50_000 + i, query: { kind: 'read-state' as const, messageId: mid(i + 1) } }));
    await c.api.subscribe(subs);
    await c.until(() => c.values.size, (size) => size >= n, 'initial values');
    const before = c.batches.length;
    await c.api.markRead(subs.map((s) => s.query.messageId));
    await c.until(() => subs.every((s) => (c.values.get(s.id) as ReadState).ackStatus !== 'none'), Boolean, 'every state updated');
    const burst = c.batches.slice(before);
    expect(burst.length).toBeLessThan(20);
    for (const batch of burst) expect(new Set(batch.map((u) => u.id)).size).toBe(batch.length);
  });

  it('messages, conversations and sync status follow the store', async () => {
    const c = await alice();
    await c.worker.engine.idle();
    const msgs = await c.sub({ kind: 'messages', convId: 'team', limit: 2 });
    const convs = await c.sub({ kind: 'conversations' });
    const status = await c.sub({ kind: 'sync-status' });
    await c.api.receiveMessages([incoming(1), incoming(2), incoming(3)]);
    // Offline, so the pending state lasts until we look at it: online, the flusher sends the message at once,
    // and as the server never saw messages 1-3 it numbers ours seq 1, which moves it out of this 2-message window.
    await c.api.setEnvironment({ online: false });
    const sent = await c.api.sendMessage({ convId: 'team', text: 'mine', needReadReceipt: true });
    const list = await c.until(() => (c.values.get(msgs) as MessageWindow | undefined)?.messages, (l) => l?.at(-1)?.id === sent.id, 'pending message last');
    expect(list?.map((m) => [m.id, m.status])).toEqual([
      [mid(3), 'sent'],
      [sent.id, 'pending'],
    ]);
    await c.until(() => c.values.get(convs) as { id: string }[] | undefined, (l) => l?.[0]?.id === 'team', 'conversations');
    // Those two were never on the server: their acks end rejected, counted as such.
    await c.api.markRead([mid(1), mid(2)]);
    await c.until(() => c.values.get(status) as SyncStatus | undefined, (x) => x?.pendingAcks === 2 && x.pendingMessages === 1, 'acks counted');
    await c.api.setEnvironment({ online: true });
    await c.api.flush();
    const s = await c.until(
      () => c.values.get(status) as SyncStatus | undefined,
      (x) => x?.pendingAcks === 0 && x.pendingMessages === 0 && x.connection === 'online',
      'all flushed',
    );
    expect(s).toMatchObject({ rejectedAcks: 2, failedMessages: 0, leader: true });
  });

  it('a second worker on the same database sees the first one\'s changes live', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const tab1 = await openClient(core, 'alice');
    open.push(tab1);
    const tab2 = await openClient(core, 'alice', { idb: tab1.idb });
    open.push(tab2);
    await tab1.api.receiveMessages([incoming(1)]);
    const rs = await tab2.sub({ kind: 'read-state', messageId: mid(1) });
    await tab2.until(() => tab2.values.get(rs) as ReadState | undefined, (s) => s?.ackStatus === 'none', 'tab 2 sees the message');
    await tab1.api.markRead([mid(1)]);
    await tab2.until(() => tab2.values.get(rs) as ReadState | undefined, (s) => s?.ackStatus !== 'none', 'tab 2 sees the read');
  });

  it('a second worker sees my ack go from pending to sent when the leader flushes it', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    await core.sendMessages('bob', { type: 'send-messages', messages: [{ id: mid(2), convId: 'team', text: 'read me', needReadReceipt: true, createdAt: Date.now() }] });
    // The leader backs off ~0.9 s after the 503 (not a random time): the pending state lasts long enough to be
    // shown (the status counts are reloaded at most every 250 ms).
    const tab1 = await openClient(core, 'alice', { worker: { random: () => 0.9 } });
    open.push(tab1);
    const tab2 = await openClient(core, 'alice', { idb: tab1.idb });
    open.push(tab2);
    const rs = await tab2.sub({ kind: 'read-state', messageId: mid(2) });
    const status = await tab2.sub({ kind: 'sync-status' });
    await tab2.until(() => tab2.values.get(rs) as ReadState | undefined, (s) => s?.ackStatus === 'none', 'tab 2 has the message');
    // The leader's first try fails (503), so tab 2 sees the ack queued before it is sent; the retry sends it.
    const unavailable = () => new TransientError('server', 'unavailable', { status: 503 });
    tab1.transport.failNext('ackBatch', unavailable);
    tab2.transport.failNext('ackBatch', unavailable);
    await tab1.api.markRead([mid(2)]);
    await tab2.until(() => tab2.values.get(rs) as ReadState | undefined, (s) => s?.ackStatus === 'pending', 'tab 2 sees the ack queued');
    await tab2.until(() => tab2.values.get(status) as SyncStatus | undefined, (s) => s?.pendingAcks === 1, 'one ack pending');
    await tab2.until(() => tab2.values.get(rs) as ReadState | undefined, (s) => s?.ackStatus === 'sent', 'tab 2 sees the ack sent');
    expect((await core.store.readsAfter(mid(2), 0, 10)).map((r) => r.userId)).toEqual(['alice']);
    await tab2.until(() => tab2.values.get(status) as SyncStatus | undefined, (s) => s?.pendingAcks === 0, 'nothing pending');
  });

  it('a late subscriber to the receipts stream gets new batches only', async () => {
    const c = await alice();
    const first = await c.sub({ kind: 'receipts' });
    const r = { convId: 'team', convType: 'group' as const, messageId: mid(9), timestamp: 5, isPeerRead: false, readCount: 1, unreadCount: 1 };
    await c.worker.engine.apply({ type: 'receipts', receipts: [r], cursor: 1 });
    await c.until(() => c.values.get(first) as unknown[] | undefined, (b) => b?.length === 1, 'first batch');
    const late = await c.sub({ kind: 'receipts' });
    await c.worker.hub.idle();
    await new Promise((res) => setTimeout(res, 10));
    expect(c.values.has(late)).toBe(false);
  });

  it('stats and the registry stay empty after the worker closes', async () => {
    const core = newCore();
    const db = new ReadSyncDb('solo', { indexedDB: new (await import('fake-indexeddb')).IDBFactory(), IDBKeyRange });
    const w = new ReadSyncWorker({ db, transport: new MemoryTransport(core, 'alice'), userId: 'alice', sync: false });
    await w.start();
    await w.subscribe([{ id: 1, query: { kind: 'sync-status' } }]);
    await w.close();
    expect(await w.stats()).toEqual({ subscriptions: 0, queries: 0 });
    await expect(w.subscribe([{ id: 2, query: { kind: 'sync-status' } }])).rejects.toMatchObject({ code: 'closed' });
  });
});
