/**
 * Server benchmarks (SPEC section 5), each printed as a ratio against a raw
 * ceiling measured in the same run:
 *
 *   1. ingest 100,000 acks through SyncCore + SqliteStore (all rules checked,
 *      counters maintained, batch results stored) vs a raw prepared INSERT of
 *      the same read rows into an identical table. Bar: ≥ 0.5× its rate. On
 *      disk twice: synchronous=FULL (the default) and NORMAL (the opt-in),
 *      each against a raw ceiling with the same pragma; the FULL/NORMAL line
 *      is the price of durable commits.
 *   2. one member page (100) in a 100,000-member group vs the same page in a
 *      100-member group. Bar: ≤ 2×.
 *
 * Run: npx tsx bench/server.bench.ts   (not a test: nothing here asserts)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import type { Ack } from '../src/protocol';
import { SyncCore } from '../src/server/core/SyncCore';
import { SqliteStore } from '../src/server/store/SqliteStore';
import { SQLITE_SCHEMA } from '../src/server/store/sqliteSchema';

const dir = mkdtempSync(join(tmpdir(), 'readsync-bench-'));
const uid = (i: number) => `u${String(i).padStart(6, '0')}`;
const mid = (i: number) => `msg${String(i).padStart(6, '0')}`;
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

/** 200 readers × 500 messages = 100,000 acks, one 500-ack batch per reader (what a flushing client sends). */
const READERS = 200;
const MESSAGES = 500;

/** Wall time and this process's CPU time (ms) of `fn`; CPU time is the steadier figure on a shared machine. */
async function timed(fn: () => unknown): Promise<{ wall: number; cpu: number }> {
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  const wall = performance.now() - t;
  const d = process.cpuUsage(c);
  return { wall, cpu: (d.user + d.system) / 1000 };
}

type Timing = { wall: number; cpu: number };

type Synchronous = 'full' | 'normal';

async function ackIngest(onDisk: boolean, synchronous: Synchronous, run: number): Promise<{ ours: Timing; raw: Timing }> {
  const file = (name: string) => (onDisk ? join(dir, `${run}-${synchronous}-${name}`) : ':memory:');
  const store = new SqliteStore({ filename: file('ours.db'), synchronous });
  const core = new SyncCore(store, { secret: 'bench', limits: { maxAckBatch: MESSAGES } });
  await core.admin.createGroup({ id: 'g', name: 'G', groupType: 'work', members: ['alice', ...Array.from({ length: READERS }, (_, i) => uid(i))] });
  for (let b = 0; b < MESSAGES; b += 100) {
    const messages = Array.from({ length: 100 }, (_, i) => ({ id: mid(b + i), convId: 'g', text: 'x', needReadReceipt: true, createdAt: 1 }));
    await core.sendMessages('alice', { type: 'send-messages', messages });
  }
  const batches: { user: string; acks: Ack[] }[] = Array.from({ length: READERS }, (_, r) => ({
    user: uid(r),
    acks: Array.from({ length: MESSAGES }, (_, m) => ({ m: mid(m), t: 1_700_000_000_000 + m })),
  }));

  const ours = await timed(async () => {
    for (const [i, b] of batches.entries()) await core.ackBatch(b.user, { type: 'ack-batch', batchId: `bench-batch-${i}`, acks: b.acks });
  });
  const check = (await core.queryReceipts('alice', { type: 'receipt-query', messageIds: [mid(0)] })).receipts[0];
  if (check?.readCount !== READERS) throw new Error(`bench: expected ${READERS} reads, got ${check?.readCount}`);
  await core.close();
  await store.close();

  // Raw ceiling: the same rows, same table and indexes, same pragmas, one transaction per batch.
  const db = new Database(file('raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
  db.exec(SQLITE_SCHEMA);
  const insert = db.prepare('INSERT INTO reads (message_id, user_id, read_at, ack_seq) VALUES (?, ?, ?, ?)');
  let seq = 0;
  const insertBatch = db.transaction((user: string, acks: Ack[]) => {
    for (const a of acks) insert.run(a.m, user, a.t, ++seq);
  });
  const raw = await timed(() => {
    for (const b of batches) insertBatch(b.user, b.acks);
  });
  db.close();
  return { ours, raw };
}

/** One-ack batches (a user reading one message), one commit each: where an fsync per commit shows most. */
const SINGLE_ACK_BATCHES = 2_000;

async function singleAckIngest(synchronous: Synchronous, run: number): Promise<Timing> {
  const store = new SqliteStore({ filename: join(dir, `${run}-${synchronous}-single.db`), synchronous });
  const core = new SyncCore(store, { secret: 'bench' });
  await core.admin.createGroup({ id: 'g', name: 'G', groupType: 'work', members: ['alice', ...Array.from({ length: READERS }, (_, i) => uid(i))] });
  const perReader = SINGLE_ACK_BATCHES / READERS;
  const messages = Array.from({ length: perReader }, (_, i) => ({ id: mid(i), convId: 'g', text: 'x', needReadReceipt: true, createdAt: 1 }));
  await core.sendMessages('alice', { type: 'send-messages', messages });
  const t = await timed(async () => {
    for (let i = 0; i < SINGLE_ACK_BATCHES; i++) {
      const reader = uid(i % READERS);
      await core.ackBatch(reader, { type: 'ack-batch', batchId: `single-${i}`, acks: [{ m: mid(Math.floor(i / READERS)), t: 1_700_000_000_000 + i }] });
    }
  });
  const check = (await core.queryReceipts('alice', { type: 'receipt-query', messageIds: [mid(0)] })).receipts[0];
  if (check?.readCount !== READERS) throw new Error(`bench: expected ${READERS} reads, got ${check?.readCount}`);
  await core.close();
  await store.close();
  return t;
}

/** Median time (ms) of one page, over `runs` runs. */
async function pageTime(members: number, filter: 'read' | 'unread', runs: number): Promise<number> {
  const store = new SqliteStore({ filename: join(dir, `pages-${members}-${filter}.db`) });
  const core = new SyncCore(store, { secret: 'bench' });
  await core.admin.createGroup({ id: 'g', name: 'G', groupType: 'work', members: ['alice', ...Array.from({ length: members }, (_, i) => uid(i))] });
  await core.sendMessages('alice', { type: 'send-messages', messages: [{ id: mid(1), convId: 'g', text: 'x', needReadReceipt: true, createdAt: 1 }] });
  // The same 100 readers in both groups, interleaved with unread members, so a full unread page exists in both.
  const readers = Math.min(100, Math.floor(members / 2));
  for (let i = 0; i < readers; i++) await core.ackBatch(uid(i * 2), { type: 'ack-batch', batchId: `pages-${i}-x`, acks: [{ m: mid(1), t: i }] });
  const req = { type: 'member-page' as const, messageId: mid(1), filter, count: 100 };
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    const { page } = await core.memberPage('alice', req);
    times.push(performance.now() - t);
    if (page.members.length !== (filter === 'read' ? readers : 100)) throw new Error('bench: unexpected page size');
  }
  await core.close();
  await store.close();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? NaN;
}

async function main() {
  console.log('readsync server benchmarks (SQLite, WAL)\n');
  const acks = READERS * MESSAGES;
  const rate = (ms: number) => acks / (ms / 1000);
  const ourRate = new Map<Synchronous, number>();
  // On disk: FULL (the store's default: every commit fsynced) and NORMAL (opt-in: fsync at checkpoints),
  // each against a raw ceiling with the same pragma. In memory there is nothing to sync.
  const cases: { onDisk: boolean; synchronous: Synchronous; label: string }[] = [
    { onDisk: true, synchronous: 'full', label: 'on disk, synchronous=FULL (default)' },
    { onDisk: true, synchronous: 'normal', label: 'on disk, synchronous=NORMAL (opt-in)' },
    { onDisk: false, synchronous: 'full', label: 'in memory' },
  ];
  // Best of 3 runs, the cases interleaved so drift on a shared machine hits each alike; the minimum is the least disturbed figure.
  const best = cases.map(() => ({ ours: { wall: Infinity, cpu: Infinity }, raw: { wall: Infinity, cpu: Infinity } }));
  for (let run = 0; run < 3; run++) {
    for (const [i, c] of cases.entries()) {
      const r = await ackIngest(c.onDisk, c.synchronous, run);
      const b = best[i]!;
      for (const k of ['ours', 'raw'] as const) {
        b[k].wall = Math.min(b[k].wall, r[k].wall);
        b[k].cpu = Math.min(b[k].cpu, r[k].cpu);
      }
    }
  }
  for (const [i, { onDisk, synchronous, label }] of cases.entries()) {
    const b = best[i]!;
    if (onDisk) ourRate.set(synchronous, rate(b.ours.wall));
    console.log(`ack ingestion, ${fmt(acks)} acks in ${READERS} batches of ${MESSAGES}, database ${label} (best of 3)`);
    console.log(`  SyncCore + SqliteStore : ${fmt(rate(b.ours.wall))} acks/s (${b.ours.wall.toFixed(0)} ms wall, ${b.ours.cpu.toFixed(0)} ms CPU)`);
    console.log(`  raw SQLite INSERT      : ${fmt(rate(b.raw.wall))} rows/s (${b.raw.wall.toFixed(0)} ms wall, ${b.raw.cpu.toFixed(0)} ms CPU)`);
    console.log(`  ratio                  : ${(b.raw.wall / b.ours.wall).toFixed(2)}× the raw rate by wall time, ${(b.raw.cpu / b.ours.cpu).toFixed(2)}× by CPU time (bar ≥ 0.5×)\n`);
  }
  const single = { full: Infinity, normal: Infinity };
  for (let run = 0; run < 3; run++) {
    for (const sync of ['full', 'normal'] as const) single[sync] = Math.min(single[sync], (await singleAckIngest(sync, run)).wall);
  }
  const full = ourRate.get('full') ?? NaN;
  const normal = ourRate.get('normal') ?? NaN;
  const singleRate = (ms: number) => SINGLE_ACK_BATCHES / (ms / 1000);
  console.log('durability cost on disk, SyncCore + SqliteStore (info: FULL fsyncs the WAL at every commit, NORMAL at checkpoints)');
  console.log(`  ${MESSAGES}-ack batches : FULL ${fmt(full)} acks/s, NORMAL ${fmt(normal)} acks/s, FULL at ${(full / normal).toFixed(2)}× NORMAL's rate`);
  console.log(
    `  1-ack batches   : FULL ${fmt(singleRate(single.full))} acks/s, NORMAL ${fmt(singleRate(single.normal))} acks/s, FULL at ${(single.normal / single.full).toFixed(2)}× NORMAL's rate (${fmt(SINGLE_ACK_BATCHES)} commits, best of 3)\n`,
  );

  for (const filter of ['read', 'unread'] as const) {
    const small = await pageTime(200, filter, 500);
    const large = await pageTime(100_000, filter, 500);
    console.log(`member page of 100 (${filter}), median of 500`);
    console.log(`  200-member group     : ${(small * 1000).toFixed(0)} µs`);
    console.log(`  100,000-member group : ${(large * 1000).toFixed(0)} µs`);
    console.log(`  ratio                : ${(large / small).toFixed(2)}× (bar ≤ 2×)\n`);
  }
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
