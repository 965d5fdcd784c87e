import { afterEach, describe, expect, it } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import type { ConversationSummary, ReadState, SyncStatus } from '../../src/bridge';
import type { AckBatchRequest, DeliveryRange, ServerConfig } from '../../src/protocol';
import { MemoryTransport } from '../../worker/transport/MemoryTransport';
import { newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function client(core: ReturnType<typeof newCore>, user: string, opts: Parameters<typeof openClient<MemoryTransport>>[2] = {}): Promise<Client> {
  const c = await openClient<MemoryTransport>(core, user, opts);
  open.push(c);
  return c;
}

const convOf = (c: Client, sub: number, id: string) => (c.values.get(sub) as ConversationSummary[] | undefined)?.find((x) => x.id === id);

/**
 * A transport that records the ack batches it sends that carry reads (acks or
 * positions), and apart from them the delivery ranges (issue 10.5), which
 * ride in the same batches or alone whenever messages were stored.
 */
class RecordingTransport extends MemoryTransport {
  readonly batches: AckBatchRequest[] = [];
  readonly deliveries: DeliveryRange[] = [];
  override ackBatch(req: AckBatchRequest) {
    const { deliveries, ...reads } = structuredClone(req);
    this.deliveries.push(...(deliveries ?? []));
    if (reads.acks.length > 0 || reads.positions !== undefined) this.batches.push(reads);
    return super.ackBatch(req);
  }
}

/** alice posts `n` messages into `team` (receipts on the odd ones), straight into the server. */
async function post(core: ReturnType<typeof newCore>, n: number, from = 'alice', start = 1) {
  const messages = Array.from({ length: n }, (_, i) => ({ id: `m${String(start + i).padStart(9, '0')}`, convId: 'team', text: `t${start + i}`, needReadReceipt: (start + i) % 2 === 1, createdAt: 1 }));
  return (await core.sendMessages(from, { type: 'send-messages', messages })).results.map((r) => r.message!);
}

describe('conversation read state (issue 10.1-10.3)', () => {
  it('unread counts: messages from others not read, live; markRead and a read position combine; readState$ shows the read', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
    const bob = await client(core, 'bob');
    const convs = await bob.sub({ kind: 'conversations' });
    const sent = await post(core, 6);
    await bob.worker.engine.catchUp();
    const seen = await bob.until(() => convOf(bob, convs, 'team'), (c) => c?.unreadCount === 6, 'six unread');
    expect(seen).toMatchObject({ unreadCountCapped: false, readPosition: 0, lastMessage: expect.objectContaining({ id: sent[5]!.id }) });
    // One of mine does not count.
    await bob.api.sendMessage({ convId: 'team', text: 'mine' });
    await bob.api.markRead([sent[4]!.id]); // read on its own (it asked for receipts)
    await bob.until(() => convOf(bob, convs, 'team'), (c) => c?.unreadCount === 5 && c.lastMessage?.text === 'mine', 'five unread');
    const rs = await bob.sub({ kind: 'read-state', messageId: sent[1]!.id });
    const res = await bob.api.markConversationRead('team', { upTo: sent[2]!.id });
    expect(res).toEqual({ convId: 'team', position: sent[2]!.seq, markedRead: 3 });
    await bob.until(() => convOf(bob, convs, 'team'), (c) => c?.unreadCount === 2 && c.readPosition === sent[2]!.seq, 'two unread');
    const state = await bob.until(() => bob.values.get(rs) as ReadState | undefined, (s) => (s?.timestamp ?? 0) > 0, 'read by me');
    expect(state?.direction).toBe('incoming');
    // A markRead at or below the position is already read; a lower position changes nothing.
    expect(await bob.api.markRead([sent[0]!.id])).toEqual({ queued: 0, alreadyRead: 1, skipped: [] });
    expect(await bob.api.markConversationRead('team', { upTo: sent[1]!.id })).toEqual({ convId: 'team', position: sent[2]!.seq, markedRead: 0 });
    // Default: up to the newest stored sent message.
    await bob.api.markConversationRead('team');
    await bob.until(() => convOf(bob, convs, 'team'), (c) => c?.unreadCount === 0, 'all read');
    await bob.api.flush();
    // The sender's counts: each message that asked for receipts read by bob once.
    const receipts = await core.queryReceipts('alice', { type: 'receipt-query', messageIds: sent.map((m) => m.id) });
    expect(receipts.receipts.map((r) => r.readCount)).toEqual([1, 1, 1]);
  });

  it('a read position made offline is ONE row, sent in one request with the queued acks; counts stay right after a reload', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const sent = await post(core, 20);
    const idb = new IDBFactory();
    const transport = new RecordingTransport(core, 'bob');
    let bob = await client(core, 'bob', { idb, transport });
    await bob.worker.flusher.stop(); // offline: nothing leaves
    await bob.api.markRead([sent[0]!.id, sent[2]!.id]);
    for (const m of sent.slice(0, 10)) await bob.api.markConversationRead('team', { upTo: m.id });
    expect(await bob.db.outbox.where(':id').startsWith('p:').count()).toBe(1);
    const status = await bob.sub({ kind: 'sync-status' });
    await bob.until(() => bob.values.get(status) as SyncStatus | undefined, (s) => s?.pendingAcks === 3, 'two acks and one position pending');
    await bob.close();
    // Reload: the same counts from IndexedDB, then one request carries everything.
    bob = await client(core, 'bob', { idb, transport });
    const convs = await bob.sub({ kind: 'conversations' });
    await bob.until(() => convOf(bob, convs, 'team'), (c) => c?.unreadCount === 10 && c.readPosition === sent[9]!.seq, 'ten unread after reload');
    await bob.api.flush();
    expect(transport.batches).toHaveLength(1);
    expect(transport.batches[0]).toMatchObject({ acks: [{ m: sent[0]!.id }, { m: sent[2]!.id }], positions: [{ c: 'team', s: sent[9]!.seq }] });
    expect(await bob.db.outbox.count()).toBe(0);
    const receipts = await core.queryReceipts('alice', { type: 'receipt-query', messageIds: sent.map((m) => m.id) });
    expect(receipts.receipts.map((r) => r.readCount)).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
  });

  it("a message read by a position shows my ack 'pending' while the position is queued, 'sent' once the server has it; markRead of it adds no ack", async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const sent = await post(core, 3); // 1 and 3 ask for receipts
    const idb = new IDBFactory();
    const transport = new RecordingTransport(core, 'bob');
    let bob = await client(core, 'bob', { idb, transport });
    await bob.worker.flusher.stop(); // offline
    const first = await bob.sub({ kind: 'read-state', messageId: sent[0]!.id });
    const second = await bob.sub({ kind: 'read-state', messageId: sent[1]!.id });
    await bob.api.markConversationRead('team');
    const pending = await bob.until(() => bob.values.get(first) as ReadState | undefined, (s) => s?.ackStatus === 'pending', 'pending with the position');
    expect(pending?.timestamp).toBeGreaterThan(0);
    // The message without a receipt request is read, and has no ack to show.
    expect((bob.values.get(second) as ReadState | undefined)?.ackStatus).toBe('none');
    expect(await bob.api.markRead([sent[0]!.id, sent[2]!.id])).toEqual({ queued: 0, alreadyRead: 2, skipped: [] });
    await bob.close();
    bob = await client(core, 'bob', { idb, transport });
    const again = await bob.sub({ kind: 'read-state', messageId: sent[2]!.id });
    await bob.api.flush();
    await bob.until(() => bob.values.get(again) as ReadState | undefined, (s) => s?.ackStatus === 'sent', 'sent once the position is on the server');
    expect(transport.batches.map((b) => [b.acks.length, b.positions?.length])).toEqual([[0, 1]]);
  });

  it('two devices of bob: a read on one drops the unread count on the other, which never acknowledges it again', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const sent = await post(core, 6);
    const phone = await client(core, 'bob');
    const laptopTransport = new RecordingTransport(core, 'bob');
    const laptop = await client(core, 'bob', { transport: laptopTransport });
    const convs = await laptop.sub({ kind: 'conversations' });
    await laptop.until(() => convOf(laptop, convs, 'team'), (c) => c?.unreadCount === 6, 'six unread on the laptop');
    await phone.api.markRead([sent[4]!.id]);
    await phone.api.markConversationRead('team', { upTo: sent[2]!.id });
    await phone.api.flush();
    await laptop.until(() => convOf(laptop, convs, 'team'), (c) => c?.unreadCount === 2 && c.readPosition === sent[2]!.seq, 'the laptop follows');
    // The laptop's reader sees them as read: nothing to acknowledge.
    expect(await laptop.api.markRead([sent[0]!.id, sent[4]!.id])).toEqual({ queued: 0, alreadyRead: 2, skipped: [] });
    await laptop.api.flush();
    expect(laptopTransport.batches).toEqual([]);
    // A device that was away catches up by pull (myReadsAfter), and a fresh one from readAt/positions.
    const fresh = await client(core, 'bob');
    const fc = await fresh.sub({ kind: 'conversations' });
    await fresh.until(() => convOf(fresh, fc, 'team'), (c) => c?.unreadCount === 2, 'a fresh device agrees');
    expect((await fresh.db.messages.get(sent[4]!.id))?.readAt).toBeGreaterThan(0);
  });

  it('a server without read positions keeps the position queued and says so on lastError', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const sent = await post(core, 3);
    class OldServer extends MemoryTransport {
      override async getConfig(): Promise<ServerConfig> {
        const { features: _f, ...config } = await super.getConfig();
        return config;
      }
    }
    const transport = new OldServer(core, 'bob');
    const bob = await client(core, 'bob', { transport, worker: { sync: false } });
    await bob.worker.engine.catchUp();
    await bob.worker.engine.pullAll();
    await bob.api.markConversationRead('team', { upTo: sent[2]!.id });
    const status = await bob.sub({ kind: 'sync-status' });
    await bob.api.flush();
    const s = await bob.until(() => bob.values.get(status) as SyncStatus | undefined, (x) => x?.lastError?.code === 'unsupported-protocol', 'a clear error');
    expect(s?.pendingAcks).toBe(1);
    expect(await bob.db.outbox.count()).toBe(1);
    const receipts = await core.queryReceipts('alice', { type: 'receipt-query', messageIds: [sent[0]!.id] });
    expect(receipts.receipts[0]?.readCount).toBe(0);
  });

  it('a refused position leaves the outbox with its reason; the count says when the stored history has a gap', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    await post(core, 30);
    const bob = await client(core, 'bob', { worker: { historyWindow: 10 } });
    const convs = await bob.sub({ kind: 'conversations' });
    const c = await bob.until(() => convOf(bob, convs, 'team'), (x) => x?.unreadCount === 10, 'the newest window');
    expect(c?.unreadCountCapped).toBe(true);
    await bob.api.loadOlder('team', { count: 100 });
    await bob.until(() => convOf(bob, convs, 'team'), (x) => x?.unreadCount === 30 && !x.unreadCountCapped, 'all thirty, exact');
    // A server that refuses the position (a policy of its own): dropped with the reason, never retried.
    bob.transport.ackBatch = async (req) => {
      const res = await MemoryTransport.prototype.ackBatch.call(bob.transport, { ...req, acks: [{ m: 'm000000001', t: 1 }], positions: [] });
      return { ...res, results: [], positions: (req.positions ?? []).map((p) => ({ c: p.c, s: 'rejected' as const, r: 'not-member' as const })) };
    };
    const status = await bob.sub({ kind: 'sync-status' });
    await bob.api.markConversationRead('team');
    // Shown like other refusals: as lastError until a later flush succeeds.
    const shown = () => bob.batches.flat().filter((u) => u.id === status).map((u) => (u.value as SyncStatus).lastError?.code);
    await bob.until(shown, (codes) => codes.includes('not-member'), 'the refusal');
    expect(await bob.db.outbox.count()).toBe(0);
    // The local position stays (my reads here are mine); the server never took it.
    expect(convOf(bob, convs, 'team')?.unreadCount).toBe(0);
  });
});
