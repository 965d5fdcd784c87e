/**
 * PostgresStore against a real PostgreSQL (a throwaway cluster for this
 * file): the store contract suite, unchanged, plus what only a shared
 * database has: migrations, and concurrency between connections.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Ack, AckBatchRequest } from '../../src/protocol';
import { SyncCore } from '../../src/server/core/SyncCore';
import { MemoryStore } from '../../src/server/store/MemoryStore';
import { PostgresStore } from '../../src/server/store/PostgresStore';
import { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from '../../src/server/store/postgresMigrations';
import type { MessageRecord } from '../../src/server/store/Store';
import { runStoreContractTests } from '../contracts/storeContract';
import { mulberry32 } from '../support/mulberry32';
import { startPostgres } from '../support/postgres';
import type { TestPostgres } from '../support/postgres';
import { freshSchema, openPostgresStore } from '../support/postgresStores';
import { expectUpgradedWalks, expectWalksAfterNewWrites } from './upgradeWalks';

let cluster: TestPostgres;
beforeAll(async () => {
  cluster = await startPostgres();
});
afterAll(() => cluster?.stop());

runStoreContractTests('PostgresStore', () => openPostgresStore(cluster.url));

/** A schema as the migrations up to `version` left it (how an older server's database looks). */
async function schemaAtVersion(raw: pg.Client, schema: string, version: number): Promise<void> {
  await raw.query(`CREATE SCHEMA "${schema}"`);
  await raw.query(`CREATE TABLE "${schema}".schema_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  for (const m of POSTGRES_MIGRATIONS.filter((x) => x.version <= version)) {
    await raw.query(m.sql.replaceAll('{s}', `"${schema}"`));
    await raw.query(`INSERT INTO "${schema}".schema_migrations (version, description) VALUES ($1, $2)`, [m.version, m.description]);
  }
}

describe('PostgresStore schema', () => {
  it('refuses to open a database that was not migrated, and migrating twice is harmless', async () => {
    await expect(PostgresStore.open({ connectionString: cluster.url, schema: 'never_migrated' })).rejects.toMatchObject({ code: 'schema-version' });
    const schema = await freshSchema(cluster.url);
    expect(await PostgresStore.migrate({ connectionString: cluster.url, schema })).toEqual({ from: POSTGRES_SCHEMA_VERSION, to: POSTGRES_SCHEMA_VERSION });
    const store = await PostgresStore.open({ connectionString: cluster.url, schema });
    expect(await store.lastAckSeq()).toBe(0);
    await store.close();
  });

  it('migrates from several nodes at once without a conflict', async () => {
    const schema = `concurrent_${process.pid}`;
    const results = await Promise.all([1, 2, 3].map(() => PostgresStore.migrate({ connectionString: cluster.url, schema })));
    expect(results.map((r) => r.to)).toEqual([POSTGRES_SCHEMA_VERSION, POSTGRES_SCHEMA_VERSION, POSTGRES_SCHEMA_VERSION]);
    expect(results.filter((r) => r.from === 0)).toHaveLength(1);
  });

  it('upgrades a version 1 database: receipts stored before still replay, and new acks join them', async () => {
    const schema = `v1_${process.pid}`;
    const raw = new pg.Client(cluster.url);
    await raw.connect();
    // A database as version 1 left it: its schema, a group, three messages, two of them read.
    const v1 = POSTGRES_MIGRATIONS.find((m) => m.version === 1)!;
    await raw.query(`CREATE SCHEMA "${schema}"`);
    await raw.query(`CREATE TABLE "${schema}".schema_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    await raw.query(v1.sql.replaceAll('{s}', `"${schema}"`));
    await raw.query(`INSERT INTO "${schema}".schema_migrations (version, description) VALUES (1, $1)`, [v1.description]);
    await raw.query(`INSERT INTO "${schema}".conversations VALUES ('team', 'group', 'work', 'Team', NULL, NULL, 3, 3, 1)`);
    await raw.query(`INSERT INTO "${schema}".spans VALUES ('team', 'alice', 0, NULL), ('team', 'bob', 0, NULL), ('team', 'carol', 0, NULL)`);
    await raw.query(`INSERT INTO "${schema}".messages VALUES ('m1', 'team', 'group', 'alice', 't', true, 1, 1, 2), ('m2', 'team', 'group', 'alice', 't', true, 2, 1, 2), ('m3', 'team', 'group', 'alice', 't', true, 3, 1, 2)`);
    await raw.query(`INSERT INTO "${schema}".reads VALUES ('m1', 'bob', 10, 1), ('m2', 'bob', 11, 2), ('m1', 'carol', 12, 3)`);
    await raw.query(`INSERT INTO "${schema}".receipt_states VALUES ('m1', 'alice', 2, 12, 3), ('m2', 'alice', 1, 11, 2)`);
    await raw.query(`UPDATE "${schema}".counters SET value = 3`);
    await expect(PostgresStore.open({ connectionString: cluster.url, schema })).rejects.toMatchObject({ code: 'schema-version' });

    expect(await PostgresStore.migrate({ connectionString: cluster.url, schema })).toEqual({ from: 1, to: POSTGRES_SCHEMA_VERSION });
    const store = await PostgresStore.open({ connectionString: cluster.url, schema });
    const core = new SyncCore(store, { secret: 's' });
    expect((await store.receiptChangesOf('alice', 0, 10)).map((m) => [m.id, m.readCount, m.lastAckSeq])).toEqual([
      ['m2', 1, 2],
      ['m1', 2, 3],
    ]);
    expect((await store.receiptChangesOf('alice', 2, 10)).map((m) => m.id)).toEqual(['m1']);
    expect((await store.changes.receiptStatesAfter(0, 1)).map((m) => m.id)).toEqual(['m2']);
    await core.ackBatch('carol', { type: 'ack-batch', batchId: 'after-upgrade', acks: [{ m: 'm2', t: 20 }, { m: 'm3', t: 21 }] });
    expect((await store.receiptChangesOf('alice', 3, 10)).map((m) => [m.id, m.readCount, m.lastAckSeq])).toEqual([
      ['m2', 2, 4],
      ['m3', 1, 5],
    ]);
    expect((await store.changes.receiptStatesAfter(0, 10)).map((m) => m.id)).toEqual(['m1', 'm2', 'm3']);
    await core.close();
    await store.close();
    await raw.end();
  });

  it('upgrades a version 4 database to deliveries: messages keep their receipts, public reads count as delivered, and new deliveries count', async () => {
    const schema = `v4_${process.pid}`;
    const raw = new pg.Client(cluster.url);
    await raw.connect();
    // A database as version 4 left it: a group, three messages, two of them read (one privately).
    await schemaAtVersion(raw, schema, 4);
    await raw.query(`INSERT INTO "${schema}".conversations VALUES ('team', 'group', 'work', 'Team', NULL, NULL, 3, 4, 1)`);
    await raw.query(`INSERT INTO "${schema}".spans VALUES ('team', 'alice', 0, NULL), ('team', 'bob', 0, NULL), ('team', 'carol', 0, NULL), ('team', 'dave', 0, NULL)`);
    await raw.query(`INSERT INTO "${schema}".messages VALUES ('m1', 'team', 'group', 'alice', 'one', true, 1, 1, 3), ('m2', 'team', 'group', 'alice', 'two', true, 2, 1, 3), ('m3', 'team', 'group', 'alice', 'three', true, 3, 1, 3)`);
    await raw.query(`INSERT INTO "${schema}".reads VALUES ('m1', 'bob', 10, 1, false), ('m2', 'bob', 11, 2, false), ('m1', 'carol', 12, 3, false), ('m2', 'dave', 13, 4, true)`);
    await raw.query(`INSERT INTO "${schema}".receipt_states VALUES ('m1', 'alice', 2, 12, 3), ('m2', 'alice', 1, 11, 2)`);
    await raw.query(`INSERT INTO "${schema}".receipt_log VALUES (2, 'alice', '{m2}'), (3, 'alice', '{m1}')`);
    await raw.query(`UPDATE "${schema}".counters SET value = 4`);
    await expect(PostgresStore.open({ connectionString: cluster.url, schema })).rejects.toMatchObject({ code: 'schema-version' });

    expect(await PostgresStore.migrate({ connectionString: cluster.url, schema })).toEqual({ from: 4, to: POSTGRES_SCHEMA_VERSION });
    const store = await PostgresStore.open({ connectionString: cluster.url, schema });
    const state = (ms: MessageRecord[]) => ms.map((m) => [m.id, m.text, m.audienceCount, m.readCount, m.deliveredCount, m.lastReadAt, m.lastAckSeq]).sort();
    expect(state(await store.getMessages(['m1', 'm2', 'm3']))).toEqual([
      ['m1', 'one', 3, 2, 2, 12, 3],
      ['m2', 'two', 3, 1, 1, 11, 2],
      ['m3', 'three', 3, 0, 0, 0, 0],
    ]);
    expect((await store.receiptChangesOf('alice', 0, 10)).map((m) => [m.id, m.readCount, m.deliveredCount, m.lastAckSeq])).toEqual([
      ['m2', 1, 1, 2],
      ['m1', 2, 2, 3],
    ]);
    expect(await store.getRead('m2', 'dave')).toMatchObject({ private: true, ackSeq: 4 });
    // Bob's public read of m2 delivered it; Dave's private one did not.
    expect(await store.deliveredUnread('m2', null, 10)).toEqual([]);
    expect(await store.insertDeliveries([{ messageId: 'm1', userId: 'carol', ackSeq: 4 }])).toEqual([]);

    // Deliveries after the upgrade: dave (read m2 privately) and carol get m2, carol and dave m3; m2 twice to carol.
    await store.transaction(async (tx) => {
      const first = await tx.reserveAckSeqs(4);
      const inserted = await tx.insertDeliveries([
        { messageId: 'm2', userId: 'dave', ackSeq: first },
        { messageId: 'm2', userId: 'carol', ackSeq: first + 1 },
        { messageId: 'm2', userId: 'carol', ackSeq: first + 1 },
        { messageId: 'm3', userId: 'carol', ackSeq: first + 2 },
        { messageId: 'm3', userId: 'dave', ackSeq: first + 3 },
      ]);
      expect(inserted).toEqual(['m2', 'm2', 'm3', 'm3']);
      await tx.updateReadStates([
        { messageId: 'm2', added: 0, delivered: 1, lastReadAt: 0, lastAckSeq: first + 1 },
        { messageId: 'm3', added: 0, delivered: 2, lastReadAt: 0, lastAckSeq: first + 3 },
        { messageId: 'm2', added: 0, delivered: 1, lastReadAt: 0, lastAckSeq: first },
      ]);
    });
    expect(state(await store.getMessages(['m1', 'm2', 'm3']))).toEqual([
      ['m1', 'one', 3, 2, 2, 12, 3],
      ['m2', 'two', 3, 1, 3, 11, 6],
      ['m3', 'three', 3, 0, 2, 0, 8],
    ]);
    expect((await store.receiptChangesOf('alice', 3, 10)).map((m) => [m.id, m.deliveredCount, m.lastAckSeq])).toEqual([
      ['m2', 3, 6],
      ['m3', 2, 8],
    ]);
    expect(await store.insertDeliveries([{ messageId: 'm2', userId: 'dave', ackSeq: 9 }])).toEqual([]);
    expect(await store.deliveredUnread('m2', null, 10)).toEqual(['carol', 'dave']); // dave's read is private
    expect(await store.deliveredUnread('m3', 'carol', 10)).toEqual(['dave']);
    expect(await store.deliveredUnread('m3', null, 10, 7)).toEqual(['carol']);
    await store.close();
    await raw.end();
  });

  it('upgrades a version 5 database to member ordinals (first-join order) and reader bitmaps: unread walks are exact (issue 14)', async () => {
    const schema = `v5_${process.pid}`;
    const raw = new pg.Client(cluster.url);
    await raw.connect();
    await schemaAtVersion(raw, schema, 5);
    // alice, erin, bob and dave joined at 0 (dave left at 1 and came back at 4), carol at 2, frank at 6;
    // m1 at 3 (audience bob, erin, carol), m2 at 5 (bob, dave, erin, carol). Bob read m1, carol m2,
    // erin m2 privately.
    await raw.query(`INSERT INTO "${schema}".conversations VALUES ('team', 'group', 'work', 'Team', NULL, NULL, 6, 6, 1)`);
    await raw.query(
      `INSERT INTO "${schema}".spans VALUES ('team', 'alice', 0, NULL), ('team', 'erin', 0, NULL), ('team', 'bob', 0, NULL), ('team', 'dave', 0, 1), ('team', 'carol', 2, NULL), ('team', 'dave', 4, NULL), ('team', 'frank', 6, NULL)`,
    );
    await raw.query(`INSERT INTO "${schema}".messages VALUES ('m1', 'team', 'group', 'alice', 'one', true, 3, 1, 3), ('m2', 'team', 'group', 'alice', 'two', true, 5, 1, 4)`);
    await raw.query(`INSERT INTO "${schema}".reads VALUES ('m1', 'bob', 10, 1, false), ('m2', 'erin', 11, 2, true), ('m2', 'carol', 12, 3, false)`);
    await raw.query(`UPDATE "${schema}".counters SET value = 3`);
    expect(await PostgresStore.migrate({ connectionString: cluster.url, schema })).toEqual({ from: 5, to: POSTGRES_SCHEMA_VERSION });
    const store = await PostgresStore.open({ connectionString: cluster.url, schema });
    await expectUpgradedWalks(store);
    // After the upgrade: a new member gets the next ordinal, a new read (one ack batch's statement) sets its bit.
    await store.transaction(async (tx) => {
      await tx.getConversation('team');
      await tx.openSpans('team', ['gina'], 7);
    });
    await store.transaction((tx) => tx.insertCountedReads!([{ messageId: 'm2', userId: 'bob', readAt: 20, ackSeq: 0 }], ['alice']));
    await expectWalksAfterNewWrites(store);
    await store.close();
    await raw.end();
  });
});

describe('PostgresStore with concurrent connections', () => {
  it('takes positions in a conversation one at a time: concurrent sends get consecutive seqs', async () => {
    const store = await openPostgresStore(cluster.url, { poolSize: 8 });
    const core = new SyncCore(store, { secret: 's' });
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const sends = Array.from({ length: 20 }, (_, i) =>
      core.sendMessages(i % 2 ? 'alice' : 'bob', { type: 'send-messages', messages: [{ id: `msg${String(i).padStart(5, '0')}`, convId: 'team', text: 't', needReadReceipt: true, createdAt: 1 }] }),
    );
    const seqs = (await Promise.all(sends)).map((r) => r.results[0]?.message?.seq);
    expect([...seqs].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((await store.getConversation('team'))?.seq).toBe(20);
    await core.close();
    await store.close();
  });

  it('applies the same ack batch sent twice at once exactly once, with one stored answer', async () => {
    const schema = await freshSchema(cluster.url);
    const [a, b] = await Promise.all([openPostgresStore(cluster.url, { schema }), openPostgresStore(cluster.url, { schema })]);
    const nodeA = new SyncCore(a, { secret: 's' });
    const nodeB = new SyncCore(b, { secret: 's' });
    await nodeA.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const ids = Array.from({ length: 50 }, (_, i) => `msg${String(i).padStart(5, '0')}`);
    await nodeA.sendMessages('alice', { type: 'send-messages', messages: ids.map((id) => ({ id, convId: 'team', text: 't', needReadReceipt: true, createdAt: 1 })) });
    const batch = { type: 'ack-batch' as const, batchId: 'same-batch-01', acks: ids.map((m) => ({ m, t: 5 })) };
    for (let round = 0; round < 5; round++) {
      const req = { ...batch, batchId: `same-batch-${round}` };
      const [ra, rb] = await Promise.all([nodeA.ackBatch('bob', req), nodeB.ackBatch('bob', req)]);
      expect(ra).toEqual(rb); // the second waited for the first, then replayed its answer
    }
    expect((await nodeB.queryReceipts('alice', { type: 'receipt-query', messageIds: ids })).receipts.every((r) => r.readCount === 1)).toBe(true);
    const raw = new pg.Client(cluster.url);
    await raw.connect();
    expect((await raw.query(`SELECT count(*)::int AS n FROM "${schema}".reads`)).rows[0]).toEqual({ n: 50 });
    expect((await raw.query(`SELECT count(*)::int AS n FROM "${schema}".batches`)).rows[0]).toEqual({ n: 5 });
    await raw.end();
    for (const c of [nodeA, nodeB]) await c.close();
    for (const s of [a, b]) await s.close();
  });

  it('commits concurrent transactions of one process together, and one that fails takes none of the others with it', async () => {
    const store = await openPostgresStore(cluster.url, { poolSize: 4 });
    const core = new SyncCore(store, { secret: 's' });
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
    const ids = Array.from({ length: 20 }, (_, i) => `msg${String(i).padStart(5, '0')}`);
    await core.sendMessages('alice', { type: 'send-messages', messages: ids.map((id) => ({ id, convId: 'team', text: 't', needReadReceipt: true, createdAt: 1 })) });
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        i === 5
          ? store.transaction(async (tx) => {
              await tx.insertReads([{ messageId: ids[0]!, userId: 'zed', readAt: 1, ackSeq: await tx.reserveAckSeqs(1) }]);
              throw new Error('refused after writing');
            })
          : core.ackBatch(i % 2 ? 'bob' : 'carol', { type: 'ack-batch', batchId: `batch-${i % 4}`, acks: ids.slice(i, i + 3).map((m) => ({ m, t: i })) }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(results.map((_, i) => (i === 5 ? 'rejected' : 'fulfilled')));
    expect(await store.getRead(ids[0]!, 'zed')).toBeUndefined();
    // batch-0..3 of bob and carol: each applied once (a repeat of one, even in the same commit, replays its answer).
    const reads = new Map<string, number>();
    for (const [i, r] of results.entries()) {
      if (i === 5 || r.status !== 'fulfilled') continue;
      const first = results.findIndex((x, j) => j !== 5 && j % 4 === i % 4 && j % 2 === i % 2);
      expect(r.value).toEqual((results[first] as PromiseFulfilledResult<unknown>).value);
      if (first === i) for (const a of r.value.results) if (a.s === 'accepted') reads.set(a.m, (reads.get(a.m) ?? 0) + 1);
    }
    const stored = await core.queryReceipts('alice', { type: 'receipt-query', messageIds: ids });
    for (const r of stored.receipts) expect(r.readCount).toBe(reads.get(r.messageId) ?? 0);
    expect(await store.receiptChangesOf('alice', 0, 100)).toHaveLength(reads.size);
    await core.close();
    await store.close();
  });

  it('commits ack positions in order: whoever reads the sequence never sees a gap filled later', async () => {
    const store = await openPostgresStore(cluster.url, { poolSize: 6 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reserved!: () => void;
    const inside = new Promise<void>((resolve) => (reserved = resolve));
    const first = store.transaction(async (tx) => {
      const n = await tx.reserveAckSeqs(3);
      reserved();
      await held;
      return n;
    });
    await inside;
    // A second reservation waits for the first transaction to end.
    let secondDone = false;
    const second = store.transaction((tx) => tx.reserveAckSeqs(2)).then((n) => ((secondDone = true), n));
    await new Promise((r) => setTimeout(r, 100));
    expect(secondDone).toBe(false);
    expect(await store.lastAckSeq()).toBe(0); // nothing committed yet
    release();
    expect(await Promise.all([first, second])).toEqual([1, 4]);
    expect(await store.lastAckSeq()).toBe(5);
    await store.close();
  });
});

describe('PostgresStore ack batches in one statement (insertCountedReads)', () => {
  /** Everything an ack batch can have moved, as a store holds it. */
  async function snapshot(store: MemoryStore | PostgresStore, ids: readonly string[], users: readonly string[]) {
    const messages = (await store.getMessages(ids)).map((m) => [m.id, m.readCount, m.deliveredCount, m.lastReadAt, m.lastAckSeq]).sort();
    const reads = [];
    for (const id of ids) reads.push(await store.readsAfter(id, 0, 1000), await store.deliveredUnread(id, null, 1000));
    const own = [];
    for (const u of users) own.push(await store.readsByUserAfter(u, 0, 1000));
    const streams = [];
    for (const sender of ['alice', 'bob']) for (const after of [0, 5, 17, 40]) streams.push((await store.receiptChangesOf(sender, after, 7)).map((m) => [m.id, m.lastAckSeq]));
    return { messages, reads, own, streams, last: await store.lastAckSeq() };
  }

  it('gives the same answers, counts, reads, deliveries and receipt streams as the step-by-step path (seeded random batches)', async () => {
    const pgStore = await openPostgresStore(cluster.url);
    const memStore = new MemoryStore();
    expect(typeof pgStore.insertCountedReads).toBe('function');
    expect((memStore as { insertCountedReads?: unknown }).insertCountedReads).toBeUndefined();
    const cores = [new SyncCore(pgStore, { secret: 's', now: () => 1 }), new SyncCore(memStore, { secret: 's', now: () => 1 })];
    const users = ['alice', 'bob', 'carol', 'dave', 'erin'];
    const ids: string[] = [];
    const both = async <T>(fn: (core: SyncCore) => Promise<T>): Promise<T> => {
      const [a, b] = [await fn(cores[0]!), await fn(cores[1]!)];
      expect(a).toEqual(b);
      return a;
    };
    await both((c) => c.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol', 'dave'] }));
    await both((c) => c.admin.createGroup({ id: 'chat', name: 'Chat', groupType: 'community', members: ['alice', 'bob', 'carol'] }));
    const send = async (sender: string, convId: string, n: number, needReadReceipt: boolean) => {
      const fresh = Array.from({ length: n }, (_, i) => `msg${String(ids.length + i).padStart(5, '0')}`);
      ids.push(...fresh);
      await both((c) => c.sendMessages(sender, { type: 'send-messages', messages: fresh.map((id) => ({ id, convId, text: 't', needReadReceipt, createdAt: 1 })) }));
    };
    await send('alice', 'team', 12, true);
    await send('bob', 'team', 8, true);
    await send('alice', 'team', 3, false);
    await send('alice', 'chat', 4, false);
    await both((c) => c.admin.join('team', 'erin'));
    await send('bob', 'team', 6, true); // erin is in these messages' audience, not the earlier ones'

    const random = mulberry32(1234);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    for (let b = 0; b < 60; b++) {
      const user = pick(users);
      const acks: Ack[] = Array.from({ length: 1 + Math.floor(random() * 12) }, () => {
        const m = random() < 0.05 ? 'unknown-msg-01' : pick(ids);
        return random() < 0.2 ? { m, t: 1000 + b, p: 1 as const } : { m, t: 1000 + b };
      });
      const req: AckBatchRequest = { type: 'ack-batch', batchId: `batch-${user}-${b}`, acks };
      // Some batches also say what the device stored first (deliveries before reads), or replay an earlier batch.
      if (random() < 0.3) req.deliveries = [{ c: 'team', f: Math.floor(random() * 10), s: 10 + Math.floor(random() * 20) }];
      if (random() < 0.1 && b > 0) req.batchId = `batch-${user}-${b - 1}`;
      await both((c) => c.ackBatch(user, req));
    }
    expect(await snapshot(pgStore, ids, users)).toEqual(await snapshot(memStore, ids, users));
    for (const c of cores) await c.close();
    await pgStore.close();
  });

  it('stores ids that need quoting in an array literal as they are', async () => {
    const store = await openPostgresStore(cluster.url);
    const odd = ['a"b', 'c\\d', '{e,f}', 'g h', 'NULL', '', 'ü€😀'];
    await store.insertConversation({ id: 'g', type: 'group', groupType: 'work', name: 'G', c2cUsers: null, seq: odd.length, memberCount: 2, createdAt: 1 });
    for (const [i, id] of odd.entries()) {
      await store.insertMessage({ id, convId: 'g', convType: 'group', senderId: i % 2 ? 'bob"' : 'alice', text: 't', needReadReceipt: true, seq: i + 1, sentAt: 1, audienceCount: 1, readCount: 0, deliveredCount: 0, lastReadAt: 0, lastAckSeq: 0 });
    }
    const reads = odd.map((messageId, i) => ({ messageId, userId: 'z"\\', readAt: 10 + i, ackSeq: 0 }));
    const inserted = await store.transaction((tx) => tx.insertCountedReads!([...reads, { ...reads[0]! }], [...odd.map((_, i) => (i % 2 ? 'bob"' : 'alice')), 'alice']));
    expect(inserted.sort()).toEqual([...odd].sort());
    expect(reads.map((r) => r.ackSeq)).toEqual(odd.map((_, i) => i + 1));
    for (const [i, id] of odd.entries()) {
      expect(await store.getRead(id, 'z"\\')).toEqual({ messageId: id, userId: 'z"\\', readAt: 10 + i, ackSeq: i + 1 });
      expect(await store.getMessage(id)).toMatchObject({ readCount: 1, deliveredCount: 1, lastAckSeq: i + 1 });
    }
    expect((await store.receiptChangesOf('bob"', 0, 10)).map((m) => m.id)).toEqual(odd.filter((_, i) => i % 2));
    expect(await store.lastAckSeq()).toBe(odd.length + 1);
    await store.close();
  });
});

describe('PostgresStore receipt log compaction', () => {
  const members = ['alice', 'bob', 'r0', 'r1', 'r2', 'r3', 'r4', 'r5'];

  /** A group where alice and bob send, and a seeded mix of ack batches (acks, deliveries, positions) that moves the same messages again and again. */
  async function workload(core: SyncCore, seed: number, batches: number, ids: string[]) {
    if (ids.length === 0) {
      await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members });
      for (const [sender, n] of [['alice', 25], ['bob', 15], ['alice', 10]] as const) {
        const fresh = Array.from({ length: n }, (_, i) => `msg${String(ids.length + i).padStart(5, '0')}`);
        ids.push(...fresh);
        await core.sendMessages(sender, { type: 'send-messages', messages: fresh.map((id) => ({ id, convId: 'team', text: 't', needReadReceipt: true, createdAt: 1 })) });
      }
    }
    const random = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    for (let b = 0; b < batches; b++) {
      const user = pick(members);
      const req: AckBatchRequest = { type: 'ack-batch', batchId: `batch-${seed}-${b}`, acks: Array.from({ length: Math.floor(random() * 8) }, () => ({ m: pick(ids), t: 100 + b })) };
      if (random() < 0.3) req.deliveries = [{ c: 'team', f: Math.floor(random() * 20), s: 20 + Math.floor(random() * 30) }];
      if (random() < 0.15) req.positions = [{ c: 'team', s: 1 + Math.floor(random() * 50), t: 100 + b }];
      if (req.acks.length === 0 && !req.deliveries && !req.positions) req.acks.push({ m: pick(ids), t: 100 + b });
      await core.ackBatch(user, req);
    }
  }

  /** Every change after `after`, read in pages of `limit` as the event hub reads them. */
  async function allAfter(read: (after: number, limit: number) => Promise<MessageRecord[]>, after: number, limit: number) {
    const out: [string, number, number, number][] = [];
    for (let cursor = after; ; ) {
      const page = await read(cursor, limit);
      out.push(...page.map((m): [string, number, number, number] => [m.id, m.lastAckSeq, m.readCount, m.deliveredCount]));
      if (page.length < limit) return out;
      cursor = page[page.length - 1]!.lastAckSeq;
    }
  }

  /** What every reader of the log must get for every cursor, from the states themselves (a scan, no log). */
  async function expectStreamsComplete(store: PostgresStore, ids: readonly string[]) {
    const states = (await store.getMessages(ids)).filter((m) => m.lastAckSeq > 0).sort((a, b) => a.lastAckSeq - b.lastAckSeq);
    const last = await store.lastAckSeq();
    // Cursors all over the sequence, and just below a third of the states (where a chunk must not cut one off).
    const cursors = [0, ...Array.from({ length: 12 }, (_, i) => Math.floor((last * i) / 12)), ...states.filter((_, i) => i % 3 === 0).map((m) => m.lastAckSeq - 1), last];
    for (const after of new Set(cursors)) {
      const want = (sender: string | null) =>
        states.filter((m) => m.lastAckSeq > after && (sender === null || m.senderId === sender)).map((m) => [m.id, m.lastAckSeq, m.readCount, m.deliveredCount]);
      expect(await allAfter((a, n) => store.changes.receiptStatesAfter(a, n), after, 4)).toEqual(want(null));
      for (const sender of ['alice', 'bob']) expect(await allAfter((a, n) => store.receiptChangesOf(sender, a, n), after, 3)).toEqual(want(sender));
    }
    return states.length;
  }

  async function logSize(schema: string): Promise<{ rows: number; entries: number }> {
    const raw = new pg.Client(cluster.url);
    await raw.connect();
    const { rows } = await raw.query(`SELECT count(*)::int AS rows, COALESCE(sum(cardinality(message_ids)), 0)::int AS entries FROM "${schema}".receipt_log`);
    await raw.end();
    return rows[0] as { rows: number; entries: number };
  }

  it('keeps exactly one entry per read message, and every cursor, however old, still gets every change after it', async () => {
    const schema = await freshSchema(cluster.url);
    const store = await openPostgresStore(cluster.url, { schema, receiptLogCompactionMs: 0 });
    const core = new SyncCore(store, { secret: 's' });
    const ids: string[] = [];
    await workload(core, 7, 120, ids);
    const read = await expectStreamsComplete(store, ids);
    const before = await logSize(schema);
    expect(before.entries).toBeGreaterThan(2 * read); // messages moved many times: most entries are superseded

    const pass = await store.compactReceiptLog();
    expect(pass.upTo).toBe(await store.lastAckSeq());
    expect(pass).toMatchObject({ rows: before.rows, entries: before.entries });
    expect(pass.dropped + pass.shrunk).toBeGreaterThan(0);
    const after = await logSize(schema);
    expect(after).toEqual({ rows: before.rows - pass.dropped, entries: read });
    expect(await expectStreamsComplete(store, ids)).toBe(read);
    expect(await store.compactReceiptLog()).toMatchObject({ dropped: 0, shrunk: 0 }); // nothing more to take

    // More batches move some of the compacted messages again: the next pass takes their old entries.
    await workload(core, 8, 40, ids);
    await store.compactReceiptLog();
    expect((await logSize(schema)).entries).toBe(await expectStreamsComplete(store, ids));
    await core.close();
    await store.close();
  });

  it('compacts while ack batches commit on two nodes: no change is lost to a reader', async () => {
    const schema = await freshSchema(cluster.url);
    const [a, b] = await Promise.all([openPostgresStore(cluster.url, { schema, receiptLogCompactionMs: 0 }), openPostgresStore(cluster.url, { schema, receiptLogCompactionMs: 0 })]);
    const [nodeA, nodeB] = [new SyncCore(a, { secret: 's' }), new SyncCore(b, { secret: 's' })];
    const ids: string[] = [];
    await workload(nodeA, 11, 20, ids);
    let writing = true;
    const passes = (async () => {
      let n = 0;
      while (writing) {
        await (n % 2 ? a : b).compactReceiptLog();
        n++;
      }
      return n;
    })();
    await Promise.all([workload(nodeA, 12, 60, ids), workload(nodeB, 13, 60, ids)]);
    writing = false;
    expect(await passes).toBeGreaterThan(1);
    await expectStreamsComplete(b, ids);
    await a.compactReceiptLog();
    expect((await logSize(schema)).entries).toBe(await expectStreamsComplete(a, ids));
    for (const c of [nodeA, nodeB]) await c.close();
    for (const s of [a, b]) await s.close();
  });

  it('a sender reconnecting with an old cursor after compaction is replayed every receipt that changed since, as current state', async () => {
    const schema = await freshSchema(cluster.url);
    const store = await openPostgresStore(cluster.url, { schema, receiptLogCompactionMs: 0 });
    const core = new SyncCore(store, { secret: 's' });
    const ids: string[] = [];
    await workload(core, 21, 30, ids);
    const cursor = await store.lastAckSeq();
    await workload(core, 22, 80, ids);
    await store.compactReceiptLog();
    const received = new Map<string, number>();
    const want = (await store.getMessages(ids)).filter((m) => m.senderId === 'alice' && m.lastAckSeq > cursor);
    expect(want.length).toBeGreaterThan(0);
    const stop = core.subscribe('alice', cursor, (e) => {
      if (e.type === 'receipts') for (const r of e.receipts) received.set(r.messageId, r.readCount);
    });
    await vi.waitFor(() => expect(received).toEqual(new Map(want.map((m) => [m.id, m.readCount]))), { timeout: 5_000, interval: 20 });
    stop();
    await core.close();
    await store.close();
  });

  it('runs by itself, one pass per interval for the whole cluster', async () => {
    const schema = await freshSchema(cluster.url);
    const writer = await openPostgresStore(cluster.url, { schema, receiptLogCompactionMs: 0 });
    const core = new SyncCore(writer, { secret: 's' });
    const ids: string[] = [];
    await workload(core, 31, 60, ids);
    const read = (await writer.getMessages(ids)).filter((m) => m.lastAckSeq > 0).length;
    expect((await logSize(schema)).entries).toBeGreaterThan(read);
    const started = Date.now();
    const nodes = await Promise.all([1, 2].map(() => openPostgresStore(cluster.url, { schema, receiptLogCompactionMs: 300 })));
    const passes = nodes.map((n) => vi.spyOn(n, 'compactReceiptLog'));
    await vi.waitFor(async () => expect((await logSize(schema)).entries).toBe(read), { timeout: 10_000, interval: 50 });
    await new Promise((r) => setTimeout(r, 1_000));
    // Each node looks several times per interval; a pass starts only where the last one, either node's, is 300 ms old.
    const count = passes.reduce((n, p) => n + p.mock.calls.length, 0);
    expect(count).toBeGreaterThanOrEqual(1);
    expect(count).toBeLessThanOrEqual(Math.floor((Date.now() - started) / 300) + 1);
    const raw = new pg.Client(cluster.url);
    await raw.connect();
    const [stamp] = (await raw.query(`SELECT value FROM "${schema}".counters WHERE name = 'receipt_log_compacted_at'`)).rows as { value: string }[];
    expect(Number(stamp?.value)).toBeGreaterThan(Date.now() - 60_000);
    await raw.end();
    await core.close();
    for (const s of [writer, ...nodes]) await s.close();
  });
});
