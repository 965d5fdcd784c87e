import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadMemberPage } from '../../src/protocol';
import type { Store } from '../../src/server/store/Store';
import { mulberry32 } from '../support/mulberry32';
import { startServer } from './httpFixture';

const N = 100_000;
const uid = (i: number) => `u${String(i).padStart(6, '0')}`;
const MSG = 'bigmsg01';

type Server = Awaited<ReturnType<typeof startServer>>;

/** The 100,000-member group, over HTTP, on the store `makeStore` gives (run by largeGroup*.test.ts). */
export function runLargeGroupTests(name: string, makeStore: () => Promise<Store>): void {
let s: Server;
let store: Store;

beforeAll(async () => {
  store = await makeStore();
  s = await startServer({ store });
  const members = Array.from({ length: N }, (_, i) => uid(i));
  await s.core.admin.createGroup({ id: 'huge', name: 'Everyone', groupType: 'public', members: ['alice', ...members] });
  await s.core.sendMessages('alice', { type: 'send-messages', messages: [{ id: MSG, convId: 'huge', text: 'all hands', needReadReceipt: true, createdAt: 1 }] });
});
afterAll(async () => {
  await s.close();
  await s.server.core.store.close();
});

let batch = 0;
async function ackRange(from: number, to: number) {
  for (let i = from; i < to; i++) {
    await s.core.ackBatch(uid(i), { type: 'ack-batch', batchId: `big-batch-${++batch}`, acks: [{ m: MSG, t: 1000 + i }] });
  }
}

async function page(filter: 'read' | 'unread', cursor: string | null, count = 100): Promise<ReadMemberPage> {
  const res = await s.post('/v1/members', { type: 'member-page', messageId: MSG, filter, cursor, count }, { authorization: `Bearer ${s.token('alice')}` });
  expect(res.status).toBe(200);
  return (res.json as { page: ReadMemberPage }).page;
}

// Each test runs thousands of requests (PostgreSQL: a round trip each); on the shared 2-core machine at load
// 8-10 some took 23-29 s before issue 14 changed anything. Generous per-test time, same assertions.
describe(`a 100,000-member group on ${name}`, { timeout: 120_000 }, () => {
  it('keeps counts exact as acks arrive', async () => {
    const sent = (await s.core.pullMessages('alice', { type: 'pull-messages', since: {} })).messages[0];
    expect(sent?.audienceCount).toBe(N);
    await ackRange(0, 1500);
    const r = (await s.core.queryReceipts('alice', { type: 'receipt-query', messageIds: [MSG] })).receipts[0];
    expect(r).toMatchObject({ readCount: 1500, unreadCount: N - 1500, isPeerRead: false, timestamp: 1000 + 1499 });
  });

  it('pages read members completely, in ack order, with no duplicates, at one snapshot while acks keep arriving', async () => {
    const seen: string[] = [];
    const snapshots = new Set<number | undefined>();
    let cursor: string | null = null;
    let next = 1500;
    for (;;) {
      const p = await page('read', cursor);
      seen.push(...p.members.map((m) => m.userId));
      snapshots.add(p.at);
      if (next < 2500) {
        await ackRange(next, next + 50); // acks land between pages
        next += 50;
      }
      if (p.isFinished) break;
      cursor = p.nextCursor;
    }
    // Exactly the 1,500 who had read when the walk began, in ack order: later readers belong to later walks.
    expect(snapshots.size).toBe(1);
    expect(seen).toEqual(Array.from({ length: 1500 }, (_, i) => uid(i)));
    if (next < 2500) await ackRange(next, 2500);
    const r = (await s.core.queryReceipts('alice', { type: 'receipt-query', messageIds: [MSG] })).receipts[0];
    expect(r?.readCount).toBe(2500);
  });

  it('pages all unread members with no duplicates and none missing at one snapshot while acks keep arriving; the read walk at that snapshot completes the audience', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let at: number | undefined;
    let pages = 0;
    let next = 2500;
    // first pages over HTTP, the long tail through the core (the same code path, minus the socket)
    for (;;) {
      let p: ReadMemberPage;
      if (pages < 20) p = await page('unread', cursor);
      else p = (await s.core.memberPage('alice', { type: 'member-page', messageId: MSG, filter: 'unread', cursor, count: 100 })).page;
      at ??= p.at;
      expect(p.at).toBe(at);
      pages++;
      seen.push(...p.members.map((m) => m.userId));
      if (pages % 50 === 0 && next < 3000) {
        // readers ahead of the cursor stay listed: they had not read at the snapshot
        await ackRange(next, next + 25);
        next += 25;
      }
      if (p.isFinished) break;
      cursor = p.nextCursor;
    }
    expect(seen).toEqual(Array.from({ length: N - 2500 }, (_, i) => uid(2500 + i)));
    // The read walk of the same snapshot, started after all those acks, lists exactly the others.
    const readers: string[] = [];
    let rc: string | null = null;
    for (;;) {
      const p: ReadMemberPage = (await s.core.memberPage('alice', { type: 'member-page', messageId: MSG, filter: 'read', cursor: rc, count: 100, at })).page;
      readers.push(...p.members.map((m) => m.userId));
      if (p.isFinished) break;
      rc = p.nextCursor;
    }
    expect(readers).toEqual(Array.from({ length: 2500 }, (_, i) => uid(i)));
    const r = (await s.core.queryReceipts('alice', { type: 'receipt-query', messageIds: [MSG] })).receipts[0];
    expect(r).toMatchObject({ readCount: next, unreadCount: N - next });
  });

  it('counts deliveries once per member beside the reads, and pages the delivered-but-unread (issue 10.5)', async () => {
    const before = (await s.core.queryReceipts('alice', { type: 'receipt-query', messageIds: [MSG] })).receipts[0];
    const readers = before?.readCount ?? 0;
    expect(before?.deliveredCount).toBe(readers); // every read so far implied its delivery
    // 2,000 devices store the message: 1,000 of readers (nothing new), 1,000 of members who have not read it.
    const deliver = (i: number, device = 'phone') => s.core.ackBatch(uid(i), { type: 'ack-batch', batchId: `big-delivery-${device}-${i}`, acks: [], deliveries: [{ c: 'huge', f: 0, s: 1 }] });
    for (let i = 0; i < 1000; i++) expect((await deliver(i)).deliveries).toEqual([{ c: 'huge', s: 'accepted', n: 0 }]);
    for (let i = 50_000; i < 51_000; i++) expect((await deliver(i)).deliveries).toEqual([{ c: 'huge', s: 'accepted', n: 1 }]);
    // A second device of each of the first 100 says it again: counted once.
    for (let i = 50_000; i < 50_100; i++) expect((await deliver(i, 'laptop')).deliveries).toEqual([{ c: 'huge', s: 'accepted', n: 0 }]);
    // A replayed batch answers what it answered the first time.
    expect((await deliver(50_000)).deliveries).toEqual([{ c: 'huge', s: 'accepted', n: 1 }]);
    const r = (await s.core.queryReceipts('alice', { type: 'receipt-query', messageIds: [MSG] })).receipts[0];
    expect(r).toMatchObject({ readCount: readers, deliveredCount: readers + 1000, unreadCount: N - readers });
    const seen: string[] = [];
    let cursor: string | null = null;
    for (;;) {
      const p: ReadMemberPage = (await s.core.memberPage('alice', { type: 'member-page', messageId: MSG, filter: 'delivered', cursor, count: 100 })).page;
      seen.push(...p.members.map((m) => m.userId));
      if (p.isFinished) break;
      cursor = p.nextCursor;
    }
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => uid(50_000 + i)));
  });

  it('walks exactly the unread members at 99.9 % read, readers clustered and at random, at one snapshot while acks arrive; leavers and later joiners never listed (issue 14)', async () => {
    // A member leaves, then two messages go out, then a user joins: the audience is the other 99,999.
    await s.core.admin.leave('huge', uid(10));
    const ids = { clustered: 'big-clustered', random: 'big-random' } as const;
    await s.core.sendMessages('alice', { type: 'send-messages', messages: Object.values(ids).map((id) => ({ id, convId: 'huge', text: 'x', needReadReceipt: true, createdAt: 2 })) });
    await s.core.admin.join('huge', 'late-joiner');
    const audience = Array.from({ length: N }, (_, i) => i).filter((i) => i !== 10);
    for (const spread of ['clustered', 'random'] as const) {
      const id = ids[spread];
      // 99.9 % read: the first 99,899 of the audience in join order, or a seeded random 99,899.
      const order = spread === 'clustered' ? audience : shuffled(audience, 14);
      const readers = order.slice(0, audience.length - 100);
      const unread = new Set(order.slice(audience.length - 100));
      // The reads go straight into the store (as an import would), so the test takes seconds; the walk is the server's.
      const first = await store.reserveAckSeqs(readers.length);
      for (let i = 0; i < readers.length; i += 5_000) {
        await store.transaction((tx) => tx.insertReads(readers.slice(i, i + 5_000).map((u, j) => ({ messageId: id, userId: uid(u), readAt: 1, ackSeq: first + i + j }))));
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let at: number | undefined;
      const ackedDuringWalk: number[] = [];
      for (;;) {
        const p: ReadMemberPage = (await s.core.memberPage('alice', { type: 'member-page', messageId: id, filter: 'unread', cursor, count: 30 })).page;
        at ??= p.at;
        expect(p.at).toBe(at);
        seen.push(...p.members.map((m) => m.userId));
        // Between pages, unread members read it (those not listed yet among them): still unread at the snapshot.
        for (const u of [...unread].filter((x) => !seen.includes(uid(x))).slice(0, 7)) {
          if (ackedDuringWalk.length >= 20) break;
          await s.core.ackBatch(uid(u), { type: 'ack-batch', batchId: `big-${spread}-late-${u}`, acks: [{ m: id, t: 5 }] });
          ackedDuringWalk.push(u);
        }
        if (p.isFinished) break;
        cursor = p.nextCursor;
      }
      expect(ackedDuringWalk).toHaveLength(20);
      // Exactly the 100 unread at the snapshot, in join order (ordinal = userId order here), each once.
      expect(seen).toEqual([...unread].sort((a, b) => a - b).map(uid));
      // A walk started now leaves out the 20 who read meanwhile.
      const now: string[] = [];
      let c2: string | null = null;
      for (;;) {
        const p: ReadMemberPage = (await s.core.memberPage('alice', { type: 'member-page', messageId: id, filter: 'unread', cursor: c2, count: 100 })).page;
        now.push(...p.members.map((m) => m.userId));
        if (p.isFinished) break;
        c2 = p.nextCursor;
      }
      const lateSet = new Set(ackedDuringWalk);
      expect(now).toEqual([...unread].filter((u) => !lateSet.has(u)).sort((a, b) => a - b).map(uid));
      expect(now).not.toContain(uid(10));
      expect(now).not.toContain('late-joiner');
    }
  });
});
}

/** Seeded shuffle. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const rnd = mulberry32(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
