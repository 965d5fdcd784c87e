/**
 * Three reference servers ("nodes") on one PostgreSQL, real HTTP and
 * WebSockets on port 0. Any request on any node: events cross nodes through
 * LISTEN/NOTIFY, idempotency holds across nodes, cursors and tokens signed
 * with the shared secret work everywhere, and a node whose notifications were
 * cut catches up from the database.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ReceiptsEvent, ServerEvent } from '../../src/protocol';
import type { HttpTransport } from '../../worker/transport/HttpTransport';
import { startPostgres } from '../support/postgres';
import type { TestPostgres } from '../support/postgres';
import { freshSchema, openPostgresStore } from '../support/postgresStores';
import { startServer } from './httpFixture';

type Node = Awaited<ReturnType<typeof startServer>>;

let cluster: TestPostgres;
beforeAll(async () => {
  cluster = await startPostgres();
});
afterAll(() => cluster?.stop());

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** `n` nodes on one fresh schema, sharing the secret (tokens and cursors). */
async function nodes(n: number): Promise<Node[]> {
  const schema = await freshSchema(cluster.url);
  const out: Node[] = [];
  for (let i = 0; i < n; i++) {
    const store = await openPostgresStore(cluster.url, { schema });
    const node = await startServer({ store });
    closers.push(async () => {
      await node.close();
      await store.close();
    });
    out.push(node);
  }
  return out;
}

const mid = (n: number) => `msg${String(n).padStart(6, '0')}`;
const wait = (fn: () => void) => vi.waitFor(fn, { timeout: 10_000, interval: 10 });

/** An event stream of `user` on `node`, recording what arrives. */
function stream(node: Node, user: string, since: number | null = null) {
  const t = node.transport(user);
  const events: ServerEvent[] = [];
  const statuses: string[] = [];
  const stop = t.openEvents(since, { onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s) });
  closers.push(stop);
  const receipts = () => events.filter((e): e is ReceiptsEvent => e.type === 'receipts');
  return { t, events, statuses, stop, receipts, latest: (id: string) => receipts().flatMap((e) => e.receipts).filter((r) => r.messageId === id).at(-1) };
}

async function send(t: HttpTransport, convId: string, ids: number[]) {
  return t.sendMessages({ type: 'send-messages', messages: ids.map((n) => ({ id: mid(n), convId, text: `hello ${n}`, needReadReceipt: true, createdAt: 1 })) });
}

describe('several nodes on one PostgreSQL', () => {
  it('runs the seed flow with the sender on node A and readers on B and C', async () => {
    const [a, b, c] = await nodes(3);
    await a!.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol', 'dave'] });
    const alice = stream(a!, 'alice');
    const bob = stream(b!, 'bob');
    await wait(() => expect(alice.events[0]?.type).toBe('hello'));
    await wait(() => expect(bob.events[0]?.type).toBe('hello'));

    // sent on A: bob's stream on B hears of it
    const sent = await send(alice.t, 'team', [1]);
    expect(sent.results[0]).toMatchObject({ status: 'accepted', message: { seq: 1, audienceCount: 3 } });
    await wait(() => expect(bob.events.some((e) => e.type === 'messages' && e.messages[0]?.id === mid(1))).toBe(true));

    // read on B and C: the receipts reach alice's socket on A, coalesced, with growing cursors
    expect((await bob.t.ackBatch({ type: 'ack-batch', batchId: 'bob-batch-1', acks: [{ m: mid(1), t: 10 }] })).results[0]?.s).toBe('accepted');
    await wait(() => expect(alice.latest(mid(1))).toMatchObject({ readCount: 1, unreadCount: 2 }));
    const carol = c!.transport('carol');
    await carol.ackBatch({ type: 'ack-batch', batchId: 'carol-batch-1', acks: [{ m: mid(1), t: 20 }] });
    await wait(() => expect(alice.latest(mid(1))).toMatchObject({ readCount: 2, unreadCount: 1, timestamp: 20 }));
    const cursors = alice.receipts().map((e) => e.cursor);
    expect(cursors).toEqual([...cursors].sort((x, y) => x - y));

    // pulls, receipt queries and member pages answer the same on every node; a cursor from A works on C
    for (const node of [a!, b!, c!]) {
      const r = await node.transport('alice').queryReceipts({ type: 'receipt-query', messageIds: [mid(1)] });
      expect(r.receipts[0]).toMatchObject({ readCount: 2, unreadCount: 1 });
    }
    const first = await a!.transport('alice').memberPage({ type: 'member-page', messageId: mid(1), filter: 'read', count: 1 });
    expect(first.page.members.map((m) => m.userId)).toEqual(['bob']);
    const second = await c!.transport('alice').memberPage({ type: 'member-page', messageId: mid(1), filter: 'read', count: 1, cursor: first.page.nextCursor });
    expect(second.page.members.map((m) => m.userId)).toEqual(['carol']);
    // a token made by one node is accepted by the others (one secret)
    const pulled = await c!.transport('dave').pullMessages({ type: 'pull-messages', since: {} });
    expect(pulled.messages.map((m) => m.id)).toEqual([mid(1)]);
  });

  it("tells a user's devices on other nodes what they read: acks and read positions, as my-reads events", async () => {
    const [a, b] = await nodes(2);
    await a!.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    await send(a!.transport('alice'), 'team', [1, 2, 3]);
    const laptop = stream(a!, 'bob'); // bob's laptop is connected to node A
    const alice = stream(a!, 'alice');
    await wait(() => expect(laptop.events[0]?.type).toBe('hello'));
    await wait(() => expect(alice.events[0]?.type).toBe('hello'));
    const phone = b!.transport('bob'); // his phone talks to node B
    await phone.ackBatch({ type: 'ack-batch', batchId: 'bob-phone-1', acks: [{ m: mid(2), t: 22 }] });
    await phone.ackBatch({ type: 'ack-batch', batchId: 'bob-phone-2', acks: [], positions: [{ c: 'team', s: 1, t: 11 }] });
    const mine = () => laptop.events.filter((e) => e.type === 'my-reads');
    await wait(() => {
      const reads = mine().flatMap((e) => (e.type === 'my-reads' ? e.reads : []));
      const positions = mine().flatMap((e) => (e.type === 'my-reads' ? e.positions : []));
      expect(reads).toContainEqual([mid(2), 22]);
      expect(positions).toContainEqual(['team', 1, 11]);
    });
    // Only bob's devices hear of it.
    expect(alice.events.some((e) => e.type === 'my-reads')).toBe(false);
  });

  it("tells a user's devices on every node of a receipt mode change, as settings events", async () => {
    const [a, b] = await nodes(2);
    await a!.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const laptop = stream(a!, 'bob'); // bob's laptop is connected to node A
    const tablet = stream(b!, 'bob'); // his tablet to node B, where the change is made
    const alice = stream(a!, 'alice');
    await wait(() => expect([laptop.events[0]?.type, tablet.events[0]?.type, alice.events[0]?.type]).toEqual(['hello', 'hello', 'hello']));
    await b!.transport('bob').settings({ type: 'settings', receipts: 'private' });
    const told = (s: ReturnType<typeof stream>) => s.events.filter((e) => e.type === 'settings');
    await wait(() => expect(told(laptop)).toEqual([{ type: 'settings', settings: { receipts: 'private' } }]));
    await wait(() => expect(told(tablet)).toEqual([{ type: 'settings', settings: { receipts: 'private' } }]));
    // Setting the same again changes nothing and tells nobody; switching back is told once more.
    await a!.transport('bob').settings({ type: 'settings', receipts: 'private' });
    await b!.transport('bob').settings({ type: 'settings', receipts: 'public' });
    await wait(() => expect(told(laptop).at(-1)).toEqual({ type: 'settings', settings: { receipts: 'public' } }));
    expect(told(laptop)).toHaveLength(2);
    expect(alice.events.some((e) => e.type === 'settings')).toBe(false);
  });

  it('counts the same ack batch sent to two nodes at once once', async () => {
    const [a, b] = await nodes(2);
    await a!.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
    const ids = Array.from({ length: 100 }, (_, i) => i);
    await send(a!.transport('alice'), 'team', ids);
    const acks = ids.map((n) => ({ m: mid(n), t: 5 }));
    for (let round = 0; round < 5; round++) {
      const req = { type: 'ack-batch' as const, batchId: `twice-batch-${round}`, acks };
      const [ra, rb] = await Promise.all([a!.transport('bob').ackBatch(req), b!.transport('bob').ackBatch(req)]);
      expect(ra).toEqual(rb);
    }
    const r = await b!.transport('alice').queryReceipts({ type: 'receipt-query', messageIds: ids.map(mid) });
    expect(r.receipts.map((x) => x.readCount)).toEqual(ids.map(() => 1));
  });

  it('resumes a sender whose WebSocket moved to another node from its cursor, without a gap', async () => {
    const [a, b] = await nodes(2);
    await a!.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
    await send(a!.transport('alice'), 'team', [1, 2, 3]);
    const onA = stream(a!, 'alice');
    await b!.transport('bob').ackBatch({ type: 'ack-batch', batchId: 'bob-1-xxxx', acks: [{ m: mid(1), t: 1 }] });
    await wait(() => expect(onA.latest(mid(1))?.readCount).toBe(1));
    const cursor = onA.receipts().at(-1)!.cursor;
    onA.stop();
    // while alice is away: reads on both nodes
    await a!.transport('carol').ackBatch({ type: 'ack-batch', batchId: 'carol-1-xxx', acks: [{ m: mid(2), t: 2 }] });
    await b!.transport('bob').ackBatch({ type: 'ack-batch', batchId: 'bob-2-xxxx', acks: [{ m: mid(3), t: 3 }] });
    // she comes back on B with her cursor: exactly what she missed, then live
    const onB = stream(b!, 'alice', cursor);
    await wait(() => expect(onB.latest(mid(3))?.readCount).toBe(1));
    expect(onB.receipts().flatMap((e) => e.receipts.map((r) => r.messageId)).sort()).toEqual([mid(2), mid(3)]);
    await a!.transport('carol').ackBatch({ type: 'ack-batch', batchId: 'carol-2-xxx', acks: [{ m: mid(1), t: 4 }] });
    await wait(() => expect(onB.latest(mid(1))?.readCount).toBe(2));
  });

  it('catches up from the database when a node’s notifications were cut', async () => {
    const [a, b] = await nodes(2);
    await a!.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    await send(a!.transport('alice'), 'team', [1, 2]);
    const alice = stream(a!, 'alice');
    await wait(() => expect(alice.statuses).toContain('open'));
    await wait(() => expect(alice.events[0]?.type).toBe('hello'));
    // cut every LISTEN connection (what a database restart or a network cut does to them)
    const admin = new pg.Client(cluster.url);
    await admin.connect();
    const cut = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'`);
    expect(cut.rowCount).toBeGreaterThanOrEqual(2);
    // committed on B while A is not listening
    await b!.transport('bob').ackBatch({ type: 'ack-batch', batchId: 'while-cut', acks: [{ m: mid(1), t: 1 }] });
    // A reconnects its listener, asks its streams to reconnect (4000), and the read reaches alice
    await wait(() => expect(alice.latest(mid(1))?.readCount).toBe(1));
    await wait(() => expect(alice.statuses.filter((s) => s === 'open').length).toBeGreaterThanOrEqual(2));
    // and live events flow again through the new listener
    await b!.transport('bob').ackBatch({ type: 'ack-batch', batchId: 'after-cut', acks: [{ m: mid(2), t: 2 }] });
    await wait(() => expect(alice.latest(mid(2))?.readCount).toBe(1));
    await admin.end();
  });
});
