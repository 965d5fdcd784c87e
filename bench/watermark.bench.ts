/**
 * What a read position costs the server (issue 10): Bob marks a group read up
 * to its newest message, a range of 10,000 messages that asked for receipts
 * (`markConversationRead`: one request). Measured through `SyncCore` +
 * `SqliteStore` on disk (synchronous=FULL, the default), until the senders'
 * counts are committed, against a raw ceiling doing the same work in the
 * same kind of database: one transaction that reads the range's messages
 * through the (conv_id, seq) index, inserts the 10,000 read rows and the
 * 10,000 delivery rows they imply (issue 10.5) with prepared multi-row
 * INSERTs and bumps each message's counters. Interleaved
 * pairs; bar ≤ 2× the raw time (the ingest bar, ≥ 0.5× the rate). Also
 * printed, for scale: the same 10,000 reads as per-message acks (20 batches
 * of 500, what `markRead` of each message sends) and the bytes on the wire.
 *
 * Run: npx tsx bench/watermark.bench.ts   (or npm run bench -- watermark)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { SyncCore } from '../src/server/core/SyncCore';
import { SqliteStore } from '../src/server/store/SqliteStore';
import { SQLITE_SCHEMA } from '../src/server/store/sqliteSchema';
import { interleavedPairs, judge, loadNow, median, ratioText, recordResult } from './runner/verdict';

const RANGE = Number(process.env.BENCH_WATERMARK_RANGE ?? 10_000);
const PAIRS = Number(process.env.BENCH_WATERMARK_PAIRS ?? 3);
const MEMBERS = 20;
const dir = mkdtempSync(join(tmpdir(), 'readsync-watermark-'));
const mid = (i: number) => `wm${String(i).padStart(8, '0')}`;
const members = Array.from({ length: MEMBERS }, (_, i) => `u${i}`);

/** A group of MEMBERS + alice + bob where alice sent RANGE messages with receipts. */
async function world(file: string): Promise<{ core: SyncCore; store: SqliteStore; seq: number }> {
  const store = new SqliteStore({ filename: join(dir, file) });
  const core = new SyncCore(store, { secret: 'bench' });
  await core.admin.createGroup({ id: 'g', name: 'G', groupType: 'work', members: ['alice', 'bob', ...members] });
  for (let i = 0; i < RANGE; i += 100) {
    const messages = Array.from({ length: Math.min(100, RANGE - i) }, (_, j) => ({ id: mid(i + j), convId: 'g', text: 'x', needReadReceipt: true, createdAt: 1 }));
    await core.sendMessages('alice', { type: 'send-messages', messages });
  }
  const seq = (await store.getConversation('g'))?.seq ?? 0;
  return { core, store, seq };
}

async function library(run: number): Promise<number> {
  const { core, store, seq } = await world(`lib-${run}.db`);
  const t = performance.now();
  const res = await core.ackBatch('bob', { type: 'ack-batch', batchId: `wm-${run}-batch`, acks: [], positions: [{ c: 'g', s: seq, t: 1_700_000_000_000 }] });
  const ms = performance.now() - t;
  const last = (await core.queryReceipts('alice', { type: 'receipt-query', messageIds: [mid(RANGE - 1)] })).receipts[0];
  if (res.positions?.[0]?.s !== 'accepted' || last?.readCount !== 1) throw new Error(`bench: the position was not applied (${JSON.stringify(res.positions)})`);
  await core.close();
  await store.close();
  return ms;
}

async function perMessageAcks(run: number): Promise<number> {
  const { core, store } = await world(`acks-${run}.db`);
  const t = performance.now();
  for (let i = 0; i < RANGE; i += 500) {
    const acks = Array.from({ length: Math.min(500, RANGE - i) }, (_, j) => ({ m: mid(i + j), t: 1_700_000_000_000 }));
    await core.ackBatch('bob', { type: 'ack-batch', batchId: `acks-${run}-${i}`, acks });
  }
  const ms = performance.now() - t;
  await core.close();
  await store.close();
  return ms;
}

/** The same work, by hand: range read, multi-row insert of the reads, counter updates, one commit. */
function raw(run: number): number {
  const db = new Database(join(dir, `raw-${run}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(SQLITE_SCHEMA);
  const ins = db.prepare('INSERT INTO messages (id, conv_id, conv_type, sender_id, text, need_receipt, seq, sent_at, audience_count, read_count, last_read_at, last_ack_seq) VALUES (?, ?, ?, ?, ?, 1, ?, 1, ?, 0, 0, 0)');
  db.transaction(() => {
    for (let i = 0; i < RANGE; i++) ins.run(mid(i), 'g', 'group', 'alice', 'x', i + 2, MEMBERS + 1);
  })();
  const range = db.prepare('SELECT id, sender_id, need_receipt FROM messages WHERE conv_id = ? AND seq > ? AND seq <= ? ORDER BY seq');
  const chunk = 100;
  const insReads = db.prepare(`INSERT OR IGNORE INTO reads (message_id, user_id, read_at, ack_seq) VALUES ${Array(chunk).fill('(?, ?, ?, ?)').join(', ')}`);
  const insDeliveries = db.prepare(`INSERT OR IGNORE INTO deliveries (message_id, user_id, ack_seq) VALUES ${Array(chunk).fill('(?, ?, ?)').join(', ')}`);
  const bump = db.prepare('UPDATE messages SET read_count = read_count + 1, delivered_count = delivered_count + 1, last_read_at = MAX(last_read_at, ?), last_ack_seq = MAX(last_ack_seq, ?) WHERE id = ?');
  const pos = db.prepare('INSERT OR REPLACE INTO read_positions (user_id, conv_id, seq, read_at) VALUES (?, ?, ?, ?)');
  const t = performance.now();
  db.transaction(() => {
    const rows = range.all('g', 0, RANGE + 1) as { id: string; sender_id: string; need_receipt: number }[];
    const ids = rows.filter((r) => r.need_receipt === 1 && r.sender_id !== 'bob').map((r) => r.id);
    for (let i = 0; i < ids.length; i += chunk) {
      const params: unknown[] = [];
      for (let j = 0; j < chunk; j++) params.push(ids[i + j], 'bob', 1_700_000_000_000, i + j + 1);
      insReads.run(params);
      const dparams: unknown[] = [];
      for (let j = 0; j < chunk; j++) dparams.push(ids[i + j], 'bob', i + j + 1);
      insDeliveries.run(dparams);
    }
    ids.forEach((id, i) => bump.run(1_700_000_000_000, i + 1, id));
    pos.run('bob', 'g', RANGE + 1, 1_700_000_000_000);
  })();
  const ms = performance.now() - t;
  db.close();
  return ms;
}

async function main(): Promise<void> {
  console.log(`readsync read-position (watermark) benchmark: a range of ${RANGE.toLocaleString('en-US')} messages, SQLite on disk, synchronous=FULL\n`);
  const load = loadNow();
  await library(0); // warm-up
  raw(0);
  const { raw: base, lib } = await interleavedPairs(PAIRS, raw, library);
  const acks = [await perMessageAcks(1)];
  const j = judge(lib.map((l, i) => l / (base[i] as number)), 2, 'most');
  const wireBytes = JSON.stringify({ type: 'ack-batch', batchId: 'b-Pq81kWzrXy', acks: [], positions: [{ c: 'g', s: RANGE + 1, t: 1_700_000_000_000 }] }).length;
  const ackBytes = JSON.stringify({ m: mid(0), t: 1_700_000_000_000 }).length + 1;
  console.log(`w. markConversationRead over ${RANGE.toLocaleString('en-US')} messages, server side`);
  console.log(`  one read position through SyncCore + SqliteStore : ${median(lib).toFixed(0)} ms (${(median(lib) * 1000 / RANGE).toFixed(1)} µs per message read)`);
  console.log(`  raw SQLite, the same reads and counters       : ${median(base).toFixed(0)} ms`);
  console.log(`  ratio                                         : ${ratioText(j)} the raw time  bar ≤ 2×  ${j.verdict}  load ${load[0]}`);
  console.log(`  for scale: the same reads as 20 ack batches of 500 : ${median(acks).toFixed(0)} ms`);
  console.log(`  on the wire: one request of ${wireBytes} bytes, against ${(ackBytes * RANGE / 1000).toFixed(0)} kB of acks\n`);
  recordResult({ key: 'watermark', name: `w. read position over ${RANGE} messages (server, SQLite FULL)`, ratio: j.ratio, spread: [j.min, j.max], pairs: j.pairs, bar: '≤ 2×', verdict: j.verdict, load, lib: median(lib), raw: median(base), unit: 'ms' });
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
