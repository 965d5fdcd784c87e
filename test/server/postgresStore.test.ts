/**
 * PostgresStore against a real PostgreSQL (a throwaway cluster for this
 * file): the store contract suite, unchanged, plus what only a shared
 * database has: migrations, and concurrency between connections.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncCore } from '../../src/server/core/SyncCore';
import { PostgresStore } from '../../src/server/store/PostgresStore';
import { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from '../../src/server/store/postgresMigrations';
import type { MessageRecord } from '../../src/server/store/Store';
import { runStoreContractTests } from '../contracts/storeContract';
import { startPostgres } from '../support/postgres';
import type { TestPostgres } from '../support/postgres';
import { freshSchema, openPostgresStore } from '../support/postgresStores';

let cluster: TestPostgres;
beforeAll(async () => {
  cluster = await startPostgres();
});
afterAll(() => cluster?.stop());

runStoreContractTests('PostgresStore', () => openPostgresStore(cluster.url));

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
    await raw.query(`CREATE SCHEMA "${schema}"`);
    await raw.query(`CREATE TABLE "${schema}".schema_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    for (const m of POSTGRES_MIGRATIONS.filter((x) => x.version <= 4)) {
      await raw.query(m.sql.replaceAll('{s}', `"${schema}"`));
      await raw.query(`INSERT INTO "${schema}".schema_migrations (version, description) VALUES ($1, $2)`, [m.version, m.description]);
    }
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
