/**
 * The Transport contract: every implementation (MemoryTransport in-process,
 * HttpTransport against a real server) must pass these. Run with
 * `runTransportContractTests(name, setup)` from a *.test.ts file.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AckBatchRequest, ServerEvent } from '../../src/protocol';
import { ReadSyncError } from '../../src/protocol';
import type { CreateGroupInput } from '../../src/server/core/GroupAdmin';
import type { EventStreamStatus, Transport } from '../../worker/transport/Transport';

/** One isolated backend with transports for any user. */
export interface TransportWorld {
  /** A transport authenticated as `userId`. */
  transport(userId: string): Transport;
  admin: {
    createC2C(a: string, b: string): Promise<{ id: string }>;
    createGroup(input: CreateGroupInput): Promise<{ id: string }>;
    join(convId: string, userId: string): Promise<unknown>;
  };
  close(): Promise<void>;
}

const mid = (n: number) => `tc${String(n).padStart(6, '0')}`;

/** Waits (polling every 5 ms) until `cond` holds; transports deliver asynchronously. Gives up after 10 s (only a failing test waits that long). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function collect(t: Transport, since: number | null = null) {
  const events: ServerEvent[] = [];
  const statuses: EventStreamStatus[] = [];
  const close = t.openEvents(since, { onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s) });
  return { events, statuses, close };
}

export function runTransportContractTests(name: string, setup: () => Promise<TransportWorld>): void {
  describe(`Transport contract: ${name}`, () => {
    let world: TransportWorld;
    const closers: (() => void)[] = [];
    afterEach(async () => {
      for (const c of closers.splice(0)) c();
      await world?.close();
    });

    it('announces the server configuration', async () => {
      world = await setup();
      const config = await world.transport('alice').getConfig();
      expect(config.protocolVersion).toBe(1);
      expect(config.receiptGroupTypes).toEqual(expect.arrayContaining(['work', 'public', 'meeting']));
      expect(config.limits.maxAckBatch).toBeGreaterThan(0);
    });

    it('carries the c2c flow: send, pull, ack, receipt query', async () => {
      world = await setup();
      const conv = await world.admin.createC2C('alice', 'bob');
      const alice = world.transport('alice');
      const bob = world.transport('bob');
      const sent = await alice.sendMessages({ type: 'send-messages', messages: [{ id: mid(1), convId: conv.id, text: 'hi', needReadReceipt: true, createdAt: 5 }] });
      expect(sent.results).toEqual([{ id: mid(1), status: 'accepted', message: expect.objectContaining({ id: mid(1), senderId: 'alice', seq: 1 }) }]);
      const pulled = await bob.pullMessages({ type: 'pull-messages', since: {} });
      expect(pulled.messages.map((m) => m.text)).toEqual(['hi']);
      expect(pulled.conversations[0]).toMatchObject({ id: conv.id, name: 'alice', type: 'c2c' });
      const acked = await bob.ackBatch({ type: 'ack-batch', batchId: 'contract-b1', acks: [{ m: mid(1), t: 1234 }] });
      expect(acked).toEqual({ type: 'ack-batch-result', batchId: 'contract-b1', results: [{ m: mid(1), s: 'accepted' }] });
      const q = await alice.queryReceipts({ type: 'receipt-query', messageIds: [mid(1)] });
      expect(q.receipts).toEqual([{ convId: conv.id, convType: 'c2c', messageId: mid(1), timestamp: 1234, isPeerRead: true, readCount: 1, unreadCount: 0, deliveredCount: 1 }]);
      const again = await bob.pullMessages({ type: 'pull-messages', since: { [conv.id]: 1 } });
      expect(again.messages).toEqual([]);
    });

    it('pages group members with an opaque cursor', async () => {
      world = await setup();
      await world.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol', 'dave'] });
      const alice = world.transport('alice');
      await alice.sendMessages({ type: 'send-messages', messages: [{ id: mid(1), convId: 'team', text: 'q', needReadReceipt: true, createdAt: 1 }] });
      await world.transport('carol').ackBatch({ type: 'ack-batch', batchId: 'contract-b2', acks: [{ m: mid(1), t: 9 }] });
      const first = await alice.memberPage({ type: 'member-page', messageId: mid(1), filter: 'unread', count: 1 });
      expect(first.page).toMatchObject({ members: [{ userId: 'bob' }], isFinished: false });
      const second = await alice.memberPage({ type: 'member-page', messageId: mid(1), filter: 'unread', count: 1, cursor: first.page.nextCursor });
      expect(second.page).toEqual({ members: [{ userId: 'dave' }], nextCursor: null, isFinished: true, at: first.page.at });
      const read = await alice.memberPage({ type: 'member-page', messageId: mid(1), filter: 'read', count: 10 });
      expect(read.page).toMatchObject({ members: [{ userId: 'carol', readAt: 9 }], nextCursor: null, isFinished: true });
    });

    it('walks the read and the unread members at one snapshot: together the audience exactly, nobody twice, while acks arrive', async () => {
      world = await setup();
      const members = ['bob', 'carol', 'dave', 'erin', 'frank'];
      await world.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', ...members] });
      const alice = world.transport('alice');
      await alice.sendMessages({ type: 'send-messages', messages: [{ id: mid(1), convId: 'team', text: 'q', needReadReceipt: true, createdAt: 1 }] });
      const read = (user: string, n: number) => world.transport(user).ackBatch({ type: 'ack-batch', batchId: `contract-s${n}`, acks: [{ m: mid(1), t: n }] });
      await read('carol', 1);
      const page = (filter: 'read' | 'unread', cursor: string | null, at?: number) =>
        alice.memberPage({ type: 'member-page', messageId: mid(1), filter, count: 1, cursor, ...(at === undefined ? {} : { at }) }).then((r) => r.page);
      // The READ walk starts; its snapshot has carol only.
      const r1 = await page('read', null);
      expect(r1.members.map((m) => m.userId)).toEqual(['carol']);
      expect(typeof r1.at).toBe('number');
      // Bob and frank read between the two walks: at this snapshot they are still unread.
      await read('bob', 2);
      await read('frank', 3);
      const unread: string[] = [];
      let cursor: string | null = null;
      for (let p = await page('unread', null, r1.at); ; p = await page('unread', cursor)) {
        unread.push(...p.members.map((m) => m.userId));
        expect(p.at).toBe(r1.at);
        await read('dave', 4); // and dave while the UNREAD walk runs
        if (p.isFinished) break;
        cursor = p.nextCursor;
      }
      expect(unread).toEqual(['bob', 'dave', 'erin', 'frank']);
      expect([...r1.members.map((m) => m.userId), ...unread].sort()).toEqual(members);
      // A walk started now sees the reads since.
      const now = await alice.memberPage({ type: 'member-page', messageId: mid(1), filter: 'unread', count: 10 });
      expect(now.page.members.map((m) => m.userId)).toEqual(['erin']);
      // A snapshot from the future is taken as now's.
      const future = await alice.memberPage({ type: 'member-page', messageId: mid(1), filter: 'unread', count: 10, at: 1e9 });
      expect(future.page.members.map((m) => m.userId)).toEqual(['erin']);
    });

    it('rejects refused requests with a permanent typed error', async () => {
      world = await setup();
      await world.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
      await world.transport('alice').sendMessages({ type: 'send-messages', messages: [{ id: mid(1), convId: 'team', text: 'q', needReadReceipt: true, createdAt: 1 }] });
      const bob = world.transport('bob');
      const err = await bob.memberPage({ type: 'member-page', messageId: mid(1), filter: 'read', count: 5 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReadSyncError);
      expect(err).toMatchObject({ code: 'not-sender', retryable: false });
      const bad = { type: 'ack-batch', batchId: 'contract-b3', acks: [{ m: 'no', t: -1 }] } as unknown as AckBatchRequest;
      await expect(bob.ackBatch(bad)).rejects.toMatchObject({ code: 'invalid-argument', retryable: false });
      const tooMany: AckBatchRequest = { type: 'ack-batch', batchId: 'contract-b4', acks: Array.from({ length: 501 }, (_, i) => ({ m: mid(i + 10), t: 1 })) };
      await expect(bob.ackBatch(tooMany)).rejects.toMatchObject({ code: 'invalid-argument' });
      // nothing was applied
      const q = await world.transport('alice').queryReceipts({ type: 'receipt-query', messageIds: [mid(1)] });
      expect(q.receipts[0]?.readCount).toBe(0);
    });

    it('reports per-item rejections and replays a batchId with its first result', async () => {
      world = await setup();
      await world.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
      await world.transport('alice').sendMessages({ type: 'send-messages', messages: [{ id: mid(1), convId: 'team', text: 'q', needReadReceipt: true, createdAt: 1 }] });
      const bob = world.transport('bob');
      const req: AckBatchRequest = { type: 'ack-batch', batchId: 'contract-b5', acks: [{ m: mid(1), t: 7 }, { m: mid(2), t: 7 }] };
      const first = await bob.ackBatch(req);
      expect(first.results).toEqual([{ m: mid(1), s: 'accepted' }, { m: mid(2), s: 'rejected', r: 'not-found' }]);
      expect(await bob.ackBatch(req)).toEqual(first);
      const own = await world.transport('alice').ackBatch({ type: 'ack-batch', batchId: 'contract-b6', acks: [{ m: mid(1), t: 7 }] });
      expect(own.results).toEqual([{ m: mid(1), s: 'rejected', r: 'own-message' }]);
    });

    it('applies a read position once: messages in its range that asked for receipts count as read for their senders, once each', async () => {
      world = await setup();
      await world.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
      const alice = world.transport('alice');
      const bob = world.transport('bob');
      const carol = world.transport('carol');
      expect((await bob.getConfig()).features).toContain('read-positions');
      // positions 1-3 from alice (receipts, receipts, none), 4 from carol (receipts), 5 from bob, 6 from alice
      await alice.sendMessages({ type: 'send-messages', messages: [1, 2, 3].map((n) => ({ id: mid(n), convId: 'team', text: `a${n}`, needReadReceipt: n !== 3, createdAt: 1 })) });
      await carol.sendMessages({ type: 'send-messages', messages: [{ id: mid(4), convId: 'team', text: 'c4', needReadReceipt: true, createdAt: 1 }] });
      await bob.sendMessages({ type: 'send-messages', messages: [{ id: mid(5), convId: 'team', text: 'b5', needReadReceipt: true, createdAt: 1 }] });
      await alice.sendMessages({ type: 'send-messages', messages: [{ id: mid(6), convId: 'team', text: 'a6', needReadReceipt: true, createdAt: 1 }] });
      // Bob read message 2 on its own first, then the conversation up to position 5.
      await bob.ackBatch({ type: 'ack-batch', batchId: 'contract-p0', acks: [{ m: mid(2), t: 20 }] });
      const res = await bob.ackBatch({ type: 'ack-batch', batchId: 'contract-p1', acks: [], positions: [{ c: 'team', s: 5, t: 50 }] });
      expect(res).toEqual({ type: 'ack-batch-result', batchId: 'contract-p1', results: [], positions: [{ c: 'team', s: 'accepted', u: 5 }] });
      const receipts = async (t: Transport, ids: string[]) =>
        Object.fromEntries((await t.queryReceipts({ type: 'receipt-query', messageIds: ids })).receipts.map((r) => [r.messageId, [r.readCount, r.timestamp]]));
      // Message 2 keeps its first read (t 20), 1 is read at the position's time, 6 is after it.
      expect(await receipts(alice, [mid(1), mid(2), mid(6)])).toEqual({ [mid(1)]: [1, 50], [mid(2)]: [1, 20], [mid(6)]: [0, 0] });
      expect(await receipts(carol, [mid(4)])).toEqual({ [mid(4)]: [1, 50] });
      // Once each: the same position again, or a lower one, is a duplicate and changes nothing.
      const again = await bob.ackBatch({ type: 'ack-batch', batchId: 'contract-p2', acks: [], positions: [{ c: 'team', s: 3, t: 60 }, { c: 'team', s: 5, t: 60 }] });
      expect(again.positions).toEqual([{ c: 'team', s: 'duplicate', u: 5 }, { c: 'team', s: 'duplicate', u: 5 }]);
      // Past the end: capped at the conversation's last position.
      const past = await bob.ackBatch({ type: 'ack-batch', batchId: 'contract-p3', acks: [{ m: mid(1), t: 70 }], positions: [{ c: 'team', s: 1000, t: 70 }] });
      expect(past.results).toEqual([{ m: mid(1), s: 'duplicate' }]);
      expect(past.positions).toEqual([{ c: 'team', s: 'accepted', u: 6 }]);
      expect(await receipts(alice, [mid(1), mid(6)])).toEqual({ [mid(1)]: [1, 50], [mid(6)]: [1, 70] });
      const bad = await bob.ackBatch({ type: 'ack-batch', batchId: 'contract-p4', acks: [], positions: [{ c: 'nowhere', s: 1, t: 1 }] });
      expect(bad.positions).toEqual([{ c: 'nowhere', s: 'rejected', r: 'not-found' }]);
      await world.admin.createGroup({ id: 'other', name: 'Other', groupType: 'work', members: ['alice', 'carol'] });
      const notMine = await bob.ackBatch({ type: 'ack-batch', batchId: 'contract-p5', acks: [], positions: [{ c: 'other', s: 1, t: 1 }] });
      expect(notMine.positions).toEqual([{ c: 'other', s: 'rejected', r: 'not-member' }]);
      // A batch with neither acks nor positions is refused.
      const empty = { type: 'ack-batch', batchId: 'contract-p6', acks: [] } as AckBatchRequest;
      await expect(bob.ackBatch(empty)).rejects.toMatchObject({ code: 'invalid-argument' });
    });

    it('applies a read position over 1,000 messages in one request: each read once, the sender told', async () => {
      world = await setup();
      await world.admin.createGroup({ id: 'big', name: 'Big', groupType: 'work', members: ['alice', 'bob'] });
      const alice = world.transport('alice');
      const ids = Array.from({ length: 1000 }, (_, i) => mid(i + 1));
      for (let i = 0; i < ids.length; i += 100) {
        await alice.sendMessages({ type: 'send-messages', messages: ids.slice(i, i + 100).map((id) => ({ id, convId: 'big', text: id, needReadReceipt: true, createdAt: 1 })) });
      }
      const stream = collect(alice);
      closers.push(stream.close);
      await until(() => stream.events.some((e) => e.type === 'hello'), 'hello');
      const res = await world.transport('bob').ackBatch({ type: 'ack-batch', batchId: 'contract-w1', acks: [], positions: [{ c: 'big', s: 1000, t: 77 }] });
      expect(res.positions).toEqual([{ c: 'big', s: 'accepted', u: 1000 }]);
      for (let i = 0; i < ids.length; i += 500) {
        const q = await alice.queryReceipts({ type: 'receipt-query', messageIds: ids.slice(i, i + 500) });
        expect(q.receipts.every((r) => r.readCount === 1 && r.isPeerRead && r.timestamp === 77)).toBe(true);
      }
      const told = () => new Set(stream.events.flatMap((e) => (e.type === 'receipts' ? e.receipts.map((r) => r.messageId) : [])));
      await until(() => told().size === 1000, 'receipt events for all 1,000');
    });

    it("tells a user's other devices what they read: at once over events, and in pulls (positions, own reads after a cursor, readAt)", async () => {
      world = await setup();
      await world.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
      const alice = world.transport('alice');
      await alice.sendMessages({ type: 'send-messages', messages: [1, 2, 3].map((n) => ({ id: mid(n), convId: 'team', text: `a${n}`, needReadReceipt: true, createdAt: 1 })) });
      const laptop = world.transport('bob');
      const phone = world.transport('bob');
      // The laptop starts from the current position of Bob's reads.
      const start = await laptop.pullMessages({ type: 'pull-messages', since: {} });
      expect(start.readPositions).toEqual([]);
      expect(start.messages.every((m) => m.readAt === undefined)).toBe(true);
      const cursor = start.myReads?.cursor ?? -1;
      expect(start.myReads).toEqual({ reads: [], cursor, hasMore: false });
      const stream = collect(laptop);
      closers.push(stream.close);
      await until(() => stream.events.some((e) => e.type === 'hello'), 'hello');
      await phone.ackBatch({ type: 'ack-batch', batchId: 'contract-d1', acks: [{ m: mid(2), t: 22 }] });
      await phone.ackBatch({ type: 'ack-batch', batchId: 'contract-d2', acks: [], positions: [{ c: 'team', s: 1, t: 11 }] });
      await until(() => stream.events.filter((e) => e.type === 'my-reads').length === 2, 'my-reads events');
      expect(stream.events.filter((e) => e.type === 'my-reads')).toEqual([
        { type: 'my-reads', reads: [[mid(2), 22]], positions: [] },
        { type: 'my-reads', reads: [], positions: [['team', 1, 11]] },
      ]);
      // Alice (the sender) is not told Bob's own reads as my-reads.
      // Catch-up by pull: after the cursor, Bob's reads in order; positions; readAt on pulled messages.
      const later = await laptop.pullMessages({ type: 'pull-messages', since: {}, myReadsAfter: cursor });
      expect(later.myReads?.reads).toEqual([[mid(2), 22], [mid(1), 11]]);
      expect(later.myReads?.hasMore).toBe(false);
      expect(later.readPositions).toEqual([['team', 1, 11]]);
      expect(later.messages.map((m) => [m.id, m.readAt])).toEqual([[mid(1), 11], [mid(2), 22], [mid(3), undefined]]);
      const none = await laptop.pullMessages({ type: 'pull-messages', since: { team: 3 }, myReadsAfter: later.myReads?.cursor ?? -1 });
      expect(none.myReads).toEqual({ reads: [], cursor: later.myReads?.cursor, hasMore: false });
      const page = await laptop.history({ type: 'history-query', convId: 'team', count: 10 });
      expect(page.messages.map((m) => m.readAt)).toEqual([11, 22, undefined]);
    });

    it('keeps private reads from senders (counts, member lists, receipts) while my devices still learn of them; the setting syncs', async () => {
      world = await setup();
      await world.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
      const alice = world.transport('alice');
      const bob = world.transport('bob');
      await alice.sendMessages({ type: 'send-messages', messages: [1, 2, 3].map((n) => ({ id: mid(n), convId: 'team', text: `a${n}`, needReadReceipt: true, createdAt: 1 })) });
      expect(await bob.settings({ type: 'settings' })).toEqual({ type: 'settings-result', settings: { receipts: 'public' } });
      const laptop = world.transport('bob');
      const stream = collect(laptop);
      closers.push(stream.close);
      const senderStream = collect(alice);
      closers.push(senderStream.close);
      await until(() => stream.events.some((e) => e.type === 'hello') && senderStream.events.some((e) => e.type === 'hello'), 'hello');
      expect(await bob.settings({ type: 'settings', receipts: 'private' })).toEqual({ type: 'settings-result', settings: { receipts: 'private' } });
      await until(() => stream.events.some((e) => e.type === 'settings'), 'settings event');
      expect(stream.events.find((e) => e.type === 'settings')).toEqual({ type: 'settings', settings: { receipts: 'private' } });
      // A private read of 1, and a private position over 1-2: accepted, stored for Bob's devices only.
      const res = await bob.ackBatch({ type: 'ack-batch', batchId: 'contract-v1', acks: [{ m: mid(1), t: 10, p: 1 }], positions: [{ c: 'team', s: 2, t: 20, p: 1 }] });
      expect(res.results).toEqual([{ m: mid(1), s: 'accepted' }]);
      expect(res.positions).toEqual([{ c: 'team', s: 'accepted', u: 2 }]);
      // Carol reads 3 publicly: the sender hears of that one only.
      await world.transport('carol').ackBatch({ type: 'ack-batch', batchId: 'contract-v2', acks: [{ m: mid(3), t: 30 }] });
      const counts = await alice.queryReceipts({ type: 'receipt-query', messageIds: [mid(1), mid(2), mid(3)] });
      expect(counts.receipts.map((r) => [r.messageId, r.readCount])).toEqual([[mid(1), 0], [mid(2), 0], [mid(3), 1]]);
      const readers = await alice.memberPage({ type: 'member-page', messageId: mid(1), filter: 'read', count: 10 });
      expect(readers.page.members).toEqual([]);
      const unread = await alice.memberPage({ type: 'member-page', messageId: mid(1), filter: 'unread', count: 10 });
      expect(unread.page.members.map((m) => m.userId)).toEqual(['bob', 'carol']);
      await until(() => senderStream.events.some((e) => e.type === 'receipts'), 'carol’s receipt');
      const told = senderStream.events.flatMap((e) => (e.type === 'receipts' ? e.receipts.map((r) => r.messageId) : []));
      expect(told).toEqual([mid(3)]);
      // Bob's other device learns all of it: the event, and the pull.
      await until(() => stream.events.filter((e) => e.type === 'my-reads').length >= 1, 'my-reads');
      expect(stream.events.find((e) => e.type === 'my-reads')).toEqual({ type: 'my-reads', reads: [[mid(1), 10]], positions: [['team', 2, 20]] });
      const pulled = await laptop.pullMessages({ type: 'pull-messages', since: {} });
      expect(pulled.settings).toEqual({ receipts: 'private' });
      expect(pulled.messages.map((m) => [m.id, m.readAt])).toEqual([[mid(1), 10], [mid(2), 20], [mid(3), undefined]]);
      // Made private, stays private: a public ack of the same message later changes nothing.
      await bob.settings({ type: 'settings', receipts: 'public' });
      const later = await bob.ackBatch({ type: 'ack-batch', batchId: 'contract-v3', acks: [{ m: mid(1), t: 40 }, { m: mid(3), t: 40 }] });
      expect(later.results).toEqual([{ m: mid(1), s: 'duplicate' }, { m: mid(3), s: 'accepted' }]);
      const after = await alice.queryReceipts({ type: 'receipt-query', messageIds: [mid(1), mid(3)] });
      expect(after.receipts.map((r) => [r.messageId, r.readCount])).toEqual([[mid(1), 0], [mid(3), 2]]);
    });

    it('carries the c2c delivered → read flow: a delivery range counts once per message, the sender is told Sent → Delivered → Read', async () => {
      world = await setup();
      const conv = await world.admin.createC2C('alice', 'bob');
      const alice = world.transport('alice');
      expect((await alice.getConfig()).features).toEqual(expect.arrayContaining(['delivery']));
      const senderStream = collect(alice);
      closers.push(senderStream.close);
      await until(() => senderStream.events.some((e) => e.type === 'hello'), 'hello');
      await alice.sendMessages({ type: 'send-messages', messages: [1, 2].map((n) => ({ id: mid(n), convId: conv.id, text: `m${n}`, needReadReceipt: n === 1, createdAt: 1 })) });
      const receipt = async () => (await alice.queryReceipts({ type: 'receipt-query', messageIds: [mid(1)] })).receipts[0];
      expect(await receipt()).toMatchObject({ deliveredCount: 0, readCount: 0, isPeerRead: false });
      // Bob's phone stored positions 1-2 (2 asked for no receipt: it is not counted).
      const bob = world.transport('bob');
      const first = await bob.ackBatch({ type: 'ack-batch', batchId: 'delivery-c2c-1', acks: [], deliveries: [{ c: conv.id, f: 0, s: 2 }] });
      expect(first.results).toEqual([]);
      expect(first.deliveries).toEqual([{ c: conv.id, s: 'accepted', n: 1 }]);
      expect(await receipt()).toMatchObject({ deliveredCount: 1, readCount: 0, isPeerRead: false, timestamp: 0 });
      await until(() => senderStream.events.some((e) => e.type === 'receipts'), 'delivered receipt');
      const delivered = senderStream.events.find((e) => e.type === 'receipts');
      expect(delivered?.type === 'receipts' && delivered.receipts).toEqual([expect.objectContaining({ messageId: mid(1), deliveredCount: 1, readCount: 0, isPeerRead: false })]);
      // A replay of the batch (its answer was lost) gets the first answer back.
      expect((await bob.ackBatch({ type: 'ack-batch', batchId: 'delivery-c2c-1', acks: [], deliveries: [{ c: conv.id, f: 0, s: 2 }] })).deliveries).toEqual([{ c: conv.id, s: 'accepted', n: 1 }]);
      // Bob's laptop says the same again, overlapping: nothing new.
      const again = await world.transport('bob').ackBatch({ type: 'ack-batch', batchId: 'delivery-c2c-2', acks: [], deliveries: [{ c: conv.id, f: 0, s: 1 }, { c: conv.id, f: 0, s: 99 }] });
      expect(again.deliveries).toEqual([{ c: conv.id, s: 'accepted', n: 0 }, { c: conv.id, s: 'accepted', n: 0 }]);
      // Then Bob reads it: read, and still delivered once.
      await bob.ackBatch({ type: 'ack-batch', batchId: 'delivery-c2c-3', acks: [{ m: mid(1), t: 77 }] });
      expect(await receipt()).toMatchObject({ deliveredCount: 1, readCount: 1, isPeerRead: true, timestamp: 77 });
      await until(() => senderStream.events.filter((e) => e.type === 'receipts').length >= 2, 'read receipt');
      const states = senderStream.events.flatMap((e) => (e.type === 'receipts' ? e.receipts.map((r) => [r.deliveredCount, r.readCount]) : []));
      expect(states).toEqual([
        [1, 0],
        [1, 1],
      ]);
      // Someone else's conversation, or one that does not exist: refused per range, and nothing moves.
      await world.admin.createC2C('alice', 'carol');
      const refused = await bob.ackBatch({ type: 'ack-batch', batchId: 'delivery-c2c-4', acks: [], deliveries: [{ c: 'c2c:alice:carol', f: 0, s: 5 }, { c: 'nowhere', f: 0, s: 5 }] });
      expect(refused.deliveries).toEqual([
        { c: 'c2c:alice:carol', s: 'rejected', r: 'not-member' },
        { c: 'nowhere', s: 'rejected', r: 'not-found' },
      ]);
      // An empty or backwards range is bad input.
      await expect(bob.ackBatch({ type: 'ack-batch', batchId: 'delivery-c2c-5', acks: [], deliveries: [{ c: conv.id, f: 3, s: 3 }] })).rejects.toMatchObject({ code: 'invalid-argument' });
    });

    it('counts group deliveries per member (two devices of one, a private reader) and lists the delivered-but-unread at one snapshot', async () => {
      world = await setup();
      await world.admin.createGroup({ id: 'crew', name: 'Crew', groupType: 'work', members: ['alice', 'bob', 'carol', 'dave', 'erin'] });
      const alice = world.transport('alice');
      await alice.sendMessages({ type: 'send-messages', messages: [{ id: mid(1), convId: 'crew', text: 'hi', needReadReceipt: true, createdAt: 1 }] });
      const deliver = (user: string, batchId: string) => world.transport(user).ackBatch({ type: 'ack-batch', batchId, acks: [], deliveries: [{ c: 'crew', f: 0, s: 1 }] });
      await deliver('bob', 'delivery-g-bob-phone');
      await deliver('bob', 'delivery-g-bob-laptop');
      await deliver('carol', 'delivery-g-carol');
      // Dave reads privately without his device having said anything: not delivered, not read, for Alice.
      await world.transport('dave').settings({ type: 'settings', receipts: 'private' });
      await world.transport('dave').ackBatch({ type: 'ack-batch', batchId: 'delivery-g-dave', acks: [{ m: mid(1), t: 5, p: 1 }] });
      // Erin reads publicly straight away: delivered and read.
      await world.transport('erin').ackBatch({ type: 'ack-batch', batchId: 'delivery-g-erin', acks: [{ m: mid(1), t: 6 }] });
      const [r] = (await alice.queryReceipts({ type: 'receipt-query', messageIds: [mid(1)] })).receipts;
      expect(r).toMatchObject({ readCount: 1, unreadCount: 3, deliveredCount: 3 });
      // Dave's device stores it later: delivered (a delivery is not a read, private or not).
      await deliver('dave', 'delivery-g-dave-device');
      const page = async (filter: 'read' | 'unread' | 'delivered', at?: number) =>
        (await alice.memberPage({ type: 'member-page', messageId: mid(1), filter, count: 10, ...(at === undefined ? {} : { at }) })).page;
      const delivered = await page('delivered');
      expect(delivered.members.map((m) => m.userId)).toEqual(['bob', 'carol', 'dave']);
      // Carol reads now; walks taken at the earlier snapshot still show her delivered and unread.
      await world.transport('carol').ackBatch({ type: 'ack-batch', batchId: 'delivery-g-carol-read', acks: [{ m: mid(1), t: 7 }] });
      expect((await page('delivered', delivered.at)).members.map((m) => m.userId)).toEqual(['bob', 'carol', 'dave']);
      expect((await page('read', delivered.at)).members.map((m) => m.userId)).toEqual(['erin']);
      expect((await page('delivered')).members.map((m) => m.userId)).toEqual(['bob', 'dave']);
      const [after] = (await alice.queryReceipts({ type: 'receipt-query', messageIds: [mid(1)] })).receipts;
      expect(after).toMatchObject({ readCount: 2, unreadCount: 2, deliveredCount: 4 });
    });

    it('pulls the newest window of a long conversation first, then pages back through its history', async () => {
      world = await setup();
      await world.admin.createGroup({ id: 'long', name: 'Long', groupType: 'work', members: ['alice', 'bob'] });
      const alice = world.transport('alice');
      const send = (from: number, to: number) =>
        alice.sendMessages({ type: 'send-messages', messages: Array.from({ length: to - from + 1 }, (_, i) => ({ id: mid(from + i), convId: 'long', text: `t${from + i}`, needReadReceipt: false, createdAt: 1 })) });
      await send(1, 10); // positions 1-10
      await world.admin.join('long', 'carol'); // position 11: no message there
      await send(11, 25); // positions 12-26
      const ids = (ms: { id: string }[]) => ms.map((m) => m.id);
      const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => mid(from + i));
      const bob = world.transport('bob');

      const pulled = await bob.pullMessages({ type: 'pull-messages', since: {}, newest: 5 });
      expect(ids(pulled.messages)).toEqual(range(21, 25));
      expect(pulled.skipped).toEqual([['long', 21]]); // up to and including mid(20), at position 21
      expect(pulled.hasMore).toBe(false);
      // Behind by fewer than `newest` messages: nothing is skipped.
      const near = await bob.pullMessages({ type: 'pull-messages', since: { long: 23 }, newest: 5 });
      expect(ids(near.messages)).toEqual(range(23, 25));
      expect(near.skipped).toBeUndefined();

      const page1 = await bob.history({ type: 'history-query', convId: 'long', before: 22, count: 10 });
      expect(page1).toEqual({ type: 'history-result', convId: 'long', messages: expect.any(Array), hasOlder: true });
      expect(ids(page1.messages)).toEqual(range(11, 20));
      const page2 = await bob.history({ type: 'history-query', convId: 'long', before: page1.messages[0]!.seq, count: 10 });
      expect(ids(page2.messages)).toEqual(range(1, 10));
      expect(page2.hasOlder).toBe(false);
      const newest = await bob.history({ type: 'history-query', convId: 'long', count: 2 });
      expect(ids(newest.messages)).toEqual(range(24, 25));
      expect(newest.hasOlder).toBe(true);

      await expect(world.transport('dave').history({ type: 'history-query', convId: 'long', count: 5 })).rejects.toMatchObject({ code: 'not-member', retryable: false });
      await expect(bob.history({ type: 'history-query', convId: 'nowhere', count: 5 })).rejects.toMatchObject({ code: 'not-found', retryable: false });
      await expect(bob.history({ type: 'history-query', convId: 'long', count: 0 })).rejects.toMatchObject({ code: 'invalid-argument' });
    });

    it('streams hello, new messages and the sender-only receipt updates', async () => {
      world = await setup();
      await world.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
      const a = collect(world.transport('alice'));
      const b = collect(world.transport('bob'));
      closers.push(a.close, b.close);
      await until(() => a.events.length > 0 && b.events.length > 0, 'hello');
      expect(a.events[0]).toMatchObject({ type: 'hello', userId: 'alice', protocolVersion: 1 });
      expect(a.statuses).toEqual(['connecting', 'open']);
      await world.transport('alice').sendMessages({ type: 'send-messages', messages: [{ id: mid(1), convId: 'team', text: 'q', needReadReceipt: true, createdAt: 1 }] });
      await until(() => b.events.some((e) => e.type === 'messages'), 'messages event');
      await world.transport('bob').ackBatch({ type: 'ack-batch', batchId: 'contract-b7', acks: [{ m: mid(1), t: 3 }] });
      await until(() => a.events.some((e) => e.type === 'receipts'), 'receipts event');
      const receipts = a.events.find((e) => e.type === 'receipts');
      expect(receipts).toMatchObject({ receipts: [{ messageId: mid(1), readCount: 1, unreadCount: 1, isPeerRead: false, timestamp: 3 }] });
      expect(b.events.some((e) => e.type === 'receipts')).toBe(false);
    });

    it('replays receipt changes after `since` and stops delivering once closed', async () => {
      world = await setup();
      await world.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
      const alice = world.transport('alice');
      await alice.sendMessages({ type: 'send-messages', messages: [1, 2].map((n) => ({ id: mid(n), convId: 'team', text: 'q', needReadReceipt: true, createdAt: 1 })) });
      await world.transport('bob').ackBatch({ type: 'ack-batch', batchId: 'contract-b8', acks: [{ m: mid(1), t: 3 }] });
      await world.transport('carol').ackBatch({ type: 'ack-batch', batchId: 'contract-b9', acks: [{ m: mid(2), t: 4 }] });
      const s = collect(alice, 1);
      await until(() => s.events.some((e) => e.type === 'receipts'), 'replay');
      const replayed = s.events.filter((e) => e.type === 'receipts').flatMap((e) => e.receipts.map((r) => r.messageId));
      expect(replayed).toEqual([mid(2)]);
      s.close();
      const before = s.events.length;
      // a second stream of the same user is the witness that the update was delivered
      const witness = collect(alice);
      closers.push(witness.close);
      await until(() => witness.events.length > 0, 'witness hello');
      await world.transport('carol').ackBatch({ type: 'ack-batch', batchId: 'contract-c1', acks: [{ m: mid(1), t: 5 }] });
      await until(() => witness.events.some((e) => e.type === 'receipts'), 'witness receipts');
      expect(s.events.length).toBe(before);
    });
  });
}
