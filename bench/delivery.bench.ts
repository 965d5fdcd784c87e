/**
 * What delivery costs the server (issue 10.5), through `SyncCore` +
 * `SqliteStore` on disk (synchronous=FULL, the default), against raw ceilings
 * doing the same work in the same kind of database, interleaved pairs:
 *
 * d1. A device stores a conversation of 10,000 messages that asked for
 *     receipts and says so in one delivery range (one request): the server
 *     reads the range's references, inserts 10,000 delivery rows and bumps
 *     10,000 counters. Raw: the same range read, multi-row insert and counter
 *     updates in one transaction. Bar ≤ 2× (the ingest bar).
 * d2. A 100,000-member group: one message, and member after member saying
 *     their device stored it, each in its own request (what a group of that
 *     size costs: every member's delivery is one transaction that inserts one
 *     row and bumps the same message's counter). Measured over
 *     BENCH_DELIVERY_MEMBERS members (default 3,000; the cost per delivery does
 *     not depend on how many came before, which the printed first/last halves
 *     show). Raw: one transaction per delivery with the same insert and update.
 *     Bar ≤ 2×.
 *
 * Run: npx tsx bench/delivery.bench.ts   (or npm run bench -- delivery)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { SyncCore } from '../src/server/core/SyncCore';
import { SqliteStore } from '../src/server/store/SqliteStore';
import { SQLITE_SCHEMA, SQLITE_UPGRADES } from '../src/server/store/sqliteSchema';
import { interleavedPairs, judge, loadNow, median, ratioText, recordResult } from './runner/verdict';

const RANGE = Number(process.env.BENCH_DELIVERY_RANGE ?? 10_000);
const GROUP = 100_000;
const MEMBERS = Number(process.env.BENCH_DELIVERY_MEMBERS ?? 3_000);
const PAIRS = Number(process.env.BENCH_DELIVERY_PAIRS ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'readsync-delivery-'));
const mid = (i: number) => `dl${String(i).padStart(8, '0')}`;
const uid = (i: number) => `u${String(i).padStart(6, '0')}`;

function rawDb(file: string): Database.Database {
  const db = new Database(join(dir, file));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(SQLITE_SCHEMA);
  for (const u of SQLITE_UPGRADES) {
    const cols = db.prepare(`PRAGMA table_info(${u.table})`).all() as { name: string }[];
    if (!cols.some((c) => c.name === u.column)) db.exec(u.sql);
  }
  return db;
}

// ---- d1: one range of 10,000 messages ----------------------------------------------------

async function rangeLibrary(run: number): Promise<number> {
  const store = new SqliteStore({ filename: join(dir, `range-lib-${run}.db`) });
  const core = new SyncCore(store, { secret: 'bench' });
  await core.admin.createGroup({ id: 'g', name: 'G', groupType: 'work', members: ['alice', 'bob', ...Array.from({ length: 20 }, (_, i) => uid(i))] });
  for (let i = 0; i < RANGE; i += 100) {
    const messages = Array.from({ length: Math.min(100, RANGE - i) }, (_, j) => ({ id: mid(i + j), convId: 'g', text: 'x', needReadReceipt: true, createdAt: 1 }));
    await core.sendMessages('alice', { type: 'send-messages', messages });
  }
  const seq = (await store.getConversation('g'))?.seq ?? 0;
  const t = performance.now();
  const res = await core.ackBatch('bob', { type: 'ack-batch', batchId: `dl-range-${run}`, acks: [], deliveries: [{ c: 'g', f: 0, s: seq }] });
  const ms = performance.now() - t;
  if (res.deliveries?.[0]?.n !== RANGE) throw new Error(`bench: the range was not applied (${JSON.stringify(res.deliveries)})`);
  await core.close();
  await store.close();
  return ms;
}

function rangeRaw(run: number): number {
  const db = rawDb(`range-raw-${run}.db`);
  const ins = db.prepare('INSERT INTO messages (id, conv_id, conv_type, sender_id, text, need_receipt, seq, sent_at, audience_count, read_count, last_read_at, last_ack_seq) VALUES (?, ?, ?, ?, ?, 1, ?, 1, ?, 0, 0, 0)');
  db.transaction(() => {
    for (let i = 0; i < RANGE; i++) ins.run(mid(i), 'g', 'group', 'alice', 'x', i + 2, 21);
  })();
  const range = db.prepare('SELECT id, sender_id, need_receipt FROM messages WHERE conv_id = ? AND seq > ? AND seq <= ? ORDER BY seq');
  const chunk = 100;
  const insRows = db.prepare(`INSERT OR IGNORE INTO deliveries (message_id, user_id, ack_seq) VALUES ${Array(chunk).fill('(?, ?, ?)').join(', ')}`);
  const bump = db.prepare('UPDATE messages SET delivered_count = delivered_count + 1, last_ack_seq = MAX(last_ack_seq, ?) WHERE id = ?');
  const t = performance.now();
  db.transaction(() => {
    const rows = range.all('g', 0, RANGE + 1) as { id: string; sender_id: string; need_receipt: number }[];
    const ids = rows.filter((r) => r.need_receipt === 1 && r.sender_id !== 'bob').map((r) => r.id);
    for (let i = 0; i < ids.length; i += chunk) {
      const params: unknown[] = [];
      for (let j = 0; j < chunk; j++) params.push(ids[i + j], 'bob', i + j + 1);
      insRows.run(params);
    }
    ids.forEach((id, i) => bump.run(i + 1, id));
  })();
  const ms = performance.now() - t;
  db.close();
  return ms;
}

// ---- d2: member after member in a 100,000-member group -------------------------------------

async function groupLibrary(run: number): Promise<{ total: number; halves: [number, number] }> {
  const store = new SqliteStore({ filename: join(dir, `group-lib-${run}.db`) });
  const core = new SyncCore(store, { secret: 'bench' });
  await core.admin.createGroup({ id: 'huge', name: 'Everyone', groupType: 'public', members: ['alice', ...Array.from({ length: GROUP }, (_, i) => uid(i))] });
  await core.sendMessages('alice', { type: 'send-messages', messages: [{ id: mid(0), convId: 'huge', text: 'all hands', needReadReceipt: true, createdAt: 1 }] });
  const seq = (await store.getConversation('huge'))?.seq ?? 0;
  const half = Math.floor(MEMBERS / 2);
  const t0 = performance.now();
  let t1 = t0;
  for (let i = 0; i < MEMBERS; i++) {
    if (i === half) t1 = performance.now();
    await core.ackBatch(uid(i), { type: 'ack-batch', batchId: `dl-member-${i}`, acks: [], deliveries: [{ c: 'huge', f: seq - 1, s: seq }] });
  }
  const t2 = performance.now();
  const r = (await core.queryReceipts('alice', { type: 'receipt-query', messageIds: [mid(0)] })).receipts[0];
  if (r?.deliveredCount !== MEMBERS) throw new Error(`bench: ${r?.deliveredCount} delivered, expected ${MEMBERS}`);
  await core.close();
  await store.close();
  return { total: t2 - t0, halves: [t1 - t0, t2 - t1] };
}

function groupRaw(run: number): number {
  const db = rawDb(`group-raw-${run}.db`);
  db.prepare('INSERT INTO messages (id, conv_id, conv_type, sender_id, text, need_receipt, seq, sent_at, audience_count, read_count, last_read_at, last_ack_seq) VALUES (?, ?, ?, ?, ?, 1, ?, 1, ?, 0, 0, 0)').run(mid(0), 'huge', 'group', 'alice', 'x', 2, GROUP);
  const insRow = db.prepare('INSERT OR IGNORE INTO deliveries (message_id, user_id, ack_seq) VALUES (?, ?, ?)');
  const bump = db.prepare('UPDATE messages SET delivered_count = delivered_count + 1, last_ack_seq = MAX(last_ack_seq, ?) WHERE id = ?');
  const one = db.transaction((i: number) => {
    if (insRow.run(mid(0), uid(i), i + 1).changes === 1) bump.run(i + 1, mid(0));
  });
  const t = performance.now();
  for (let i = 0; i < MEMBERS; i++) one(i);
  const ms = performance.now() - t;
  db.close();
  return ms;
}

async function main(): Promise<void> {
  console.log(`readsync delivery benchmark (issue 10.5): SQLite on disk, synchronous=FULL\n`);
  let load = loadNow();
  await rangeLibrary(0); // warm-up
  rangeRaw(0);
  const { raw: base, lib } = await interleavedPairs(PAIRS, rangeRaw, rangeLibrary);
  let j = judge(lib.map((l, i) => l / (base[i] as number)), 2, 'most');
  console.log(`d1. one delivery range over ${RANGE.toLocaleString('en-US')} messages, server side`);
  console.log(`  through SyncCore + SqliteStore : ${median(lib).toFixed(0)} ms (${((median(lib) * 1000) / RANGE).toFixed(1)} µs per message delivered)`);
  console.log(`  raw SQLite, the same rows      : ${median(base).toFixed(0)} ms`);
  console.log(`  ratio                          : ${ratioText(j)} the raw time  bar ≤ 2×  ${j.verdict}  load ${load[0]}\n`);
  recordResult({ key: 'delivery', name: `d1. delivery range over ${RANGE} messages (server, SQLite FULL)`, ratio: j.ratio, spread: [j.min, j.max], pairs: j.pairs, bar: '≤ 2×', verdict: j.verdict, load, lib: median(lib), raw: median(base), unit: 'ms' });

  load = loadNow();
  const groups = await interleavedPairs(Math.max(1, PAIRS - 1), groupRaw, groupLibrary);
  const gbase = groups.raw;
  const glib = groups.lib.map((g) => g.total);
  const halves = groups.lib.map((g) => g.halves);
  j = judge(glib.map((l, i) => l / (gbase[i] as number)), 2, 'most');
  const per = (ms: number, n: number) => ((ms * 1000) / n).toFixed(0);
  const h = halves[0] as [number, number];
  console.log(`d2. a ${GROUP.toLocaleString('en-US')}-member group: ${MEMBERS.toLocaleString('en-US')} members' devices deliver one message, one request each`);
  console.log(`  through SyncCore + SqliteStore : ${median(glib).toFixed(0)} ms, ${per(median(glib), MEMBERS)} µs per delivery (first half ${per(h[0], Math.floor(MEMBERS / 2))} µs, second ${per(h[1], MEMBERS - Math.floor(MEMBERS / 2))} µs)`);
  console.log(`  raw SQLite, a transaction each : ${median(gbase).toFixed(0)} ms, ${per(median(gbase), MEMBERS)} µs per delivery`);
  console.log(`  ratio                          : ${ratioText(j)} the raw time  bar ≤ 2×  ${j.verdict}  load ${load[0]}`);
  console.log(`  all ${GROUP.toLocaleString('en-US')} members at that rate: ${((median(glib) / MEMBERS) * GROUP / 1000).toFixed(0)} s of one core, spread over however long their devices take\n`);
  recordResult({ key: 'delivery', name: `d2. deliveries in a ${GROUP}-member group, one request each (server, SQLite FULL)`, ratio: j.ratio, spread: [j.min, j.max], pairs: j.pairs, bar: '≤ 2×', verdict: j.verdict, load, lib: median(glib), raw: median(gbase), unit: 'ms' });
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
