/**
 * Delivered (issue 10.5), the worker side: a recipient's worker tells the
 * server which messages it stored (one durable outbox row per conversation,
 * written with the messages, sent in the ack batches), and the sender sees
 * Sent → Delivered → Read (c2c) and `deliveredCount` (groups), live and by
 * query, and can list who has it but has not read it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import type { ReadState, SyncStatus } from '../../src/bridge';
import type { AckBatchRequest, DeliveryRange, MessageReceipt, ServerConfig } from '../../src/protocol';
import type { DeliveryOutboxRow } from '../../worker/db/ReadSyncDb';
import { MemoryTransport } from '../../worker/transport/MemoryTransport';
import { mid, newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function client(core: ReturnType<typeof newCore>, user: string, opts: Parameters<typeof openClient<MemoryTransport>>[2] = {}): Promise<Client> {
  const c = await openClient<MemoryTransport>(core, user, opts);
  open.push(c);
  return c;
}

/** A worker whose deliveries wait in its outbox until the test flushes (the debounce outlasts every test). */
const holding = { worker: { flush: { debounceMs: 600_000 } } };

/** Records the delivery ranges of every ack batch that went out and was answered. */
class RecordingTransport extends MemoryTransport {
  readonly deliveries: DeliveryRange[] = [];
  override async ackBatch(req: AckBatchRequest) {
    const res = await super.ackBatch(req);
    this.deliveries.push(...(req.deliveries ?? []));
    return res;
  }
}

/** A server from before deliveries: its config announces none of them. */
class OldServer extends MemoryTransport {
  override async getConfig(): Promise<ServerConfig> {
    const config = await super.getConfig();
    return { ...config, features: (config.features ?? []).filter((f) => f !== 'delivery') };
  }
}

const stateOf = (c: Client, sub: number) => c.values.get(sub) as ReadState | undefined;
const statusOf = (c: Client, sub: number) => c.values.get(sub) as SyncStatus | undefined;
const deliveryRows = (c: Client) => c.db.outbox.where(':id').startsWith('d:').toArray() as Promise<DeliveryOutboxRow[]>;
const receiptsIn = (c: Client, id: number): MessageReceipt[] => c.batches.flatMap((b) => b.filter((u) => u.id === id).flatMap((u) => (u.value as MessageReceipt[]) ?? []));

async function members(c: Client, messageId: string, filter: 'read' | 'unread' | 'delivered'): Promise<string[]> {
  const page = await c.api.getReadMembers(messageId, { filter, count: 50 });
  return page.members.map((m) => m.userId).sort();
}

/** A message from `sender` in `team` as the server would deliver it (for receiveMessages). */
const incoming = (n: number, needReadReceipt = true, sender = 'alice') => ({
  id: mid(n),
  convId: 'team',
  convType: 'group' as const,
  senderId: sender,
  text: `m${n}`,
  needReadReceipt,
  seq: n,
  sentAt: 100 + n,
  audienceCount: 2,
});

describe('delivered (issue 10.5)', () => {
  it('c2c: Sent, then Delivered once the peer\'s worker stored it and flushed, then Read; getReadReceipts agrees; the peer\'s pending count stays 0', async () => {
    const core = newCore();
    const conv = await core.admin.createC2C('alice', 'bob');
    const alice = await client(core, 'alice');
    const bob = await client(core, 'bob', holding);
    const bobStatus = await bob.sub({ kind: 'sync-status' });
    const msg = await alice.api.sendMessage({ convId: conv.id, text: 'lunch?', needReadReceipt: true });
    const rs = await alice.sub({ kind: 'read-state', messageId: msg.id });
    await alice.api.flush();
    await alice.until(() => stateOf(alice, rs), (s) => s?.label === 'Sent', 'Sent');
    expect(stateOf(alice, rs)).toMatchObject({ deliveredCount: 0, readCount: 0, isPeerRead: false });

    // Bob's worker stored it: one delivery row, queued, not counted as a pending receipt of his.
    const row = await bob.until(() => deliveryRows(bob), (rows) => rows.length === 1, 'the delivery queued');
    const seq = (await bob.db.messages.get(msg.id))!.seq!;
    expect(row[0]).toEqual({ key: `d:${conv.id}`, kind: 'delivery', convId: conv.id, ranges: [[seq - 1, seq]] });
    await bob.until(() => statusOf(bob, bobStatus), (s) => s !== undefined, 'a status');
    await bob.worker.hub.idle();
    expect(statusOf(bob, bobStatus)?.pendingAcks).toBe(0);
    expect(stateOf(alice, rs)?.label).toBe('Sent');

    await bob.api.flush();
    await alice.until(() => stateOf(alice, rs), (s) => s?.label === 'Delivered', 'Delivered');
    expect(stateOf(alice, rs)).toMatchObject({ deliveredCount: 1, readCount: 0, isPeerRead: false });
    expect(await deliveryRows(bob)).toEqual([]);
    expect(await alice.api.getReadReceipts([msg.id])).toEqual([{ messageId: msg.id, receipt: expect.objectContaining({ deliveredCount: 1, isPeerRead: false }) }]);

    await bob.api.markRead([msg.id]);
    await bob.api.flush();
    await alice.until(() => stateOf(alice, rs), (s) => s?.label === 'Read', 'Read');
    expect(stateOf(alice, rs)).toMatchObject({ deliveredCount: 1, readCount: 1, isPeerRead: true });
  });

  it('group: deliveredCount counts the members whose devices have it, the label stays "N read · M unread", and the delivered filter lists who has it unread', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol', 'dave'] });
    const alice = await client(core, 'alice');
    const bob = await client(core, 'bob');
    const carol = await client(core, 'carol');
    const receipts = await alice.sub({ kind: 'receipts' });
    const [plain, msg] = await alice.api.sendMessages([
      { convId: 'team', text: 'morning', needReadReceipt: false },
      { convId: 'team', text: 'standup at 10:30', needReadReceipt: true },
    ]);
    const rs = await alice.sub({ kind: 'read-state', messageId: msg!.id });
    await alice.api.flush();
    // Bob's and Carol's workers store it and flush their deliveries on their own; Dave is away.
    const s = await alice.until(() => stateOf(alice, rs), (x) => x?.deliveredCount === 2, 'delivered to two');
    expect(s).toMatchObject({ label: '0 read · 3 unread', readCount: 0, unreadCount: 3 });
    expect(await members(alice, msg!.id, 'delivered')).toEqual(['bob', 'carol']);
    expect(receiptsIn(alice, receipts).every((r) => r.messageId === msg!.id)).toBe(true);

    await carol.api.markRead([msg!.id]);
    await carol.api.flush();
    await alice.until(() => stateOf(alice, rs), (x) => x?.readCount === 1, 'carol read it');
    expect(stateOf(alice, rs)).toMatchObject({ label: '1 read · 2 unread', deliveredCount: 2 });
    expect(await members(alice, msg!.id, 'delivered')).toEqual(['bob']);
    expect(await members(alice, msg!.id, 'read')).toEqual(['carol']);
    expect(await members(alice, msg!.id, 'unread')).toEqual(['bob', 'dave']);

    // Dave comes back: his catch-up pull stores it, and he is delivered too.
    const dave = await client(core, 'dave');
    await alice.until(() => stateOf(alice, rs), (x) => x?.deliveredCount === 3, 'delivered to three');
    expect(await members(alice, msg!.id, 'delivered')).toEqual(['bob', 'dave']);
    const [r] = await alice.api.getReadReceipts([msg!.id]);
    expect(r?.receipt).toMatchObject({ readCount: 1, unreadCount: 2, deliveredCount: 3 });
    // The message without receipts is counted nowhere, and nothing waits in any outbox.
    expect((await core.queryReceipts('alice', { type: 'receipt-query', messageIds: [plain!.id] })).rejected).toEqual([{ m: plain!.id, r: 'receipt-not-requested' }]);
    for (const c of [bob, carol, dave]) await c.until(() => c.db.outbox.count(), (n) => n === 0, `${c.userId}'s outbox empty`);
  });

  it('queued offline, the delivery survives a reload and is sent once when back online', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const idb = new IDBFactory();
    const transport = new RecordingTransport(core, 'bob');
    let bob = await client(core, 'bob', { idb, transport, ...holding });
    const sent = (await core.sendMessages('alice', { type: 'send-messages', messages: [1, 2, 3].map((i) => ({ id: mid(i), convId: 'team', text: `t${i}`, needReadReceipt: true, createdAt: 1 })) })).results.map((r) => r.message!);
    await bob.until(() => deliveryRows(bob), (rows) => rows[0]?.ranges[0]?.[1] === sent[2]!.seq, 'all three queued');
    transport.setOffline(true);
    await bob.api.flush(); // fails: nothing leaves
    expect(transport.deliveries).toEqual([]);
    await bob.close();
    open.splice(open.indexOf(bob), 1);

    transport.setOffline(false);
    bob = await client(core, 'bob', { idb, transport });
    await bob.api.flush();
    await bob.until(() => deliveryRows(bob), (rows) => rows.length === 0, 'sent');
    expect(transport.deliveries).toEqual([{ c: 'team', f: sent[0]!.seq - 1, s: sent[2]!.seq }]);
    const res = await core.queryReceipts('alice', { type: 'receipt-query', messageIds: sent.map((m) => m.id) });
    expect(res.receipts.map((r) => [r.readCount, r.deliveredCount])).toEqual([[0, 1], [0, 1], [0, 1]]);
  });

  it('two devices of bob store the same message: delivered to bob once', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
    const phoneNet = new RecordingTransport(core, 'bob');
    const laptopNet = new RecordingTransport(core, 'bob');
    const phone = await client(core, 'bob', { transport: phoneNet });
    const laptop = await client(core, 'bob', { transport: laptopNet });
    const [m] = (await core.sendMessages('alice', { type: 'send-messages', messages: [{ id: mid(1), convId: 'team', text: 'hi', needReadReceipt: true, createdAt: 1 }] })).results.map((r) => r.message!);
    await phone.until(() => phoneNet.deliveries.length, (n) => n === 1, 'the phone told the server');
    await laptop.until(() => laptopNet.deliveries.length, (n) => n === 1, 'the laptop told the server');
    const [r] = (await core.queryReceipts('alice', { type: 'receipt-query', messageIds: [m!.id] })).receipts;
    expect(r).toMatchObject({ readCount: 0, deliveredCount: 1, unreadCount: 2 });
    expect((await core.memberPage('alice', { type: 'member-page', messageId: m!.id, filter: 'delivered', count: 10 })).page.members.map((x) => x.userId)).toEqual(['bob']);
    // Reading on one device after both delivered still counts bob once, as reader and as delivered.
    await laptop.api.markRead([m!.id]);
    await laptop.api.flush();
    const [after] = (await core.queryReceipts('alice', { type: 'receipt-query', messageIds: [m!.id] })).receipts;
    expect(after).toMatchObject({ readCount: 1, deliveredCount: 1, unreadCount: 1 });
  });

  it('a server without the feature gets no deliveries, and the delivered filter is refused with a typed error', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const bobNet = new (class extends OldServer {
      readonly batches: AckBatchRequest[] = [];
      override ackBatch(req: AckBatchRequest) {
        this.batches.push(structuredClone(req));
        return super.ackBatch(req);
      }
    })(core, 'bob');
    const bob = await client(core, 'bob', { transport: bobNet });
    const alice = await client(core, 'alice', { transport: new OldServer(core, 'alice') });
    const msg = await alice.api.sendMessage({ convId: 'team', text: 'hello', needReadReceipt: true });
    await alice.api.flush();
    await bob.until(() => bob.db.messages.get(msg.id), (m) => m !== undefined, 'bob has it');
    await bob.worker.engine.catchUp();
    await bob.api.flush();
    expect(await deliveryRows(bob)).toEqual([]);
    expect(bobNet.batches).toEqual([]);
    const error = await alice.api.getReadMembers(msg.id, { filter: 'delivered' }).then(() => null, (e: { code?: string }) => e);
    expect(error).toMatchObject({ code: 'unsupported-protocol' });
    // A read still reaches the sender; with no delivery counted, deliveredCount is the read count.
    await bob.api.markRead([msg.id]);
    await bob.api.flush();
    const [r] = await alice.api.getReadReceipts([msg.id]);
    expect(r?.receipt).toMatchObject({ readCount: 1, deliveredCount: 1 });
  });

  it('rows recorded for a server that later stops announcing deliveries stay queued, quietly', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    let old = false;
    const net = new (class extends MemoryTransport {
      readonly withDeliveries: AckBatchRequest[] = [];
      override async getConfig(): Promise<ServerConfig> {
        const config = await super.getConfig();
        return old ? { ...config, features: (config.features ?? []).filter((f) => f !== 'delivery') } : config;
      }
      override ackBatch(req: AckBatchRequest) {
        if (req.deliveries) this.withDeliveries.push(structuredClone(req));
        return super.ackBatch(req);
      }
    })(core, 'bob');
    const bob = await client(core, 'bob', { transport: net, ...holding });
    const status = await bob.sub({ kind: 'sync-status' });
    await core.sendMessages('alice', { type: 'send-messages', messages: [{ id: mid(1), convId: 'team', text: 'x', needReadReceipt: true, createdAt: 1 }] });
    await bob.until(() => deliveryRows(bob), (rows) => rows.length === 1, 'queued');
    old = true;
    await bob.worker.engine.catchUp(); // learns the new config
    await bob.api.flush();
    expect(net.withDeliveries).toEqual([]);
    expect(await deliveryRows(bob)).toHaveLength(1);
    await bob.worker.hub.idle();
    expect(statusOf(bob, status)).toMatchObject({ pendingAcks: 0, lastError: null });
  });

  it('a receipt row stored before deliveries existed reads as delivered to its readers', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
    const alice = await client(core, 'alice');
    const msg = await alice.api.sendMessage({ convId: 'team', text: 'x', needReadReceipt: true });
    await alice.api.flush();
    alice.transport.setOffline(true); // the store answers
    await alice.db.receipts.put({ convId: 'team', convType: 'group', messageId: msg.id, timestamp: 5, isPeerRead: false, readCount: 1, unreadCount: 1 });
    const [r] = await alice.api.getReadReceipts([msg.id]);
    expect(r?.receipt).toEqual({ convId: 'team', convType: 'group', messageId: msg.id, timestamp: 5, isPeerRead: false, readCount: 1, unreadCount: 1, deliveredCount: 1 });
    const rs = await alice.sub({ kind: 'read-state', messageId: msg.id });
    const s = await alice.until(() => stateOf(alice, rs), (x) => x !== undefined, 'a state');
    expect(s).toMatchObject({ label: '1 read · 1 unread', readCount: 1, deliveredCount: 1 });
  });

  it('stored ranges: one per conversation, merged as messages arrive; only messages from others that asked for receipts; refusals for conversations I am not in are dropped quietly', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    await core.admin.createGroup({ id: 'secret', name: 'Secret', groupType: 'work', members: ['alice', 'carol'] });
    const bob = await client(core, 'bob', holding);
    const status = await bob.sub({ kind: 'sync-status' });
    // Through the app's own channel: any messages, each a range of its own until they touch.
    await bob.api.receiveMessages([incoming(2, false), incoming(7, true, 'bob'), incoming(8, false)]);
    expect(await deliveryRows(bob)).toEqual([]);
    await bob.api.receiveMessages([incoming(1), incoming(5)]);
    expect((await deliveryRows(bob)).map((r) => r.ranges)).toEqual([[[0, 1], [4, 5]]]);
    await bob.api.receiveMessages([incoming(3), incoming(4), incoming(1)]);
    expect((await deliveryRows(bob)).map((r) => r.ranges)).toEqual([[[0, 1], [2, 5]]]);
    await bob.api.receiveMessages([{ ...incoming(9), convId: 'secret' }, { ...incoming(3), id: mid(103), convId: 'nowhere' }]);
    expect((await deliveryRows(bob)).map((r) => [r.convId, r.ranges])).toEqual([
      ['nowhere', [[2, 3]]],
      ['secret', [[8, 9]]],
      ['team', [[0, 1], [2, 5]]],
    ]);
    await bob.api.flush();
    expect(await deliveryRows(bob)).toEqual([]);
    await bob.worker.hub.idle();
    expect(statusOf(bob, status)?.lastError).toBeNull();
  });
});
