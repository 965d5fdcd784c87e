/**
 * Server benchmarks (SPEC section 5), each printed as a ratio against a raw
 * ceiling measured in the same run, from interleaved pairs (median, spread,
 * load; PASS/MISS only when the pairs agree, else `noisy`):
 *
 *   e. ingest 100,000 acks through the running reference server with the
 *      senders subscribed (bench/server/ingestSubscribed.ts) vs a raw
 *      prepared INSERT of the same read rows. Bar: ≥ 0.5× its rate. On disk
 *      with synchronous=FULL (the default) and NORMAL (the opt-in), and in
 *      memory, each against a raw ceiling with the same pragma.
 *   f. member pages at 0.1/50/90/99.9 % read, random and clustered, in a
 *      100,000-member group (bench/server/memberPages.ts). Bars: READ ≤ 2×,
 *      UNREAD ≤ 5× the small group's page.
 *
 * Run: npx tsx bench/server.bench.ts   (not a test: nothing here asserts)
 * Only one part: BENCH_SERVER_ONLY=ingest (e. and the durability lines) or
 * BENCH_SERVER_ONLY=pages (f.), e.g. `BENCH_SERVER_ONLY=pages npm run bench -- server`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SyncCore } from '../src/server/core/SyncCore';
import { SqliteStore } from '../src/server/store/SqliteStore';
import { ingestSubscribed, MESSAGES, READERS, type IngestRun, type Synchronous } from './server/ingestSubscribed';
import { memberPages } from './server/memberPages';
import { judge, loadNow, median, ratioText, recordResult } from './runner/verdict';

const dir = mkdtempSync(join(tmpdir(), 'readsync-bench-'));
const uid = (i: number) => `u${String(i).padStart(6, '0')}`;
const mid = (i: number) => `msg${String(i).padStart(6, '0')}`;
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
/** Interleaved pairs per ingest case (a noisy case is measured once more). */
const PAIRS = Number(process.env.BENCH_INGEST_PAIRS ?? 3);

/** Wall time and this process's CPU time (ms) of `fn`. */
async function timed(fn: () => unknown): Promise<{ wall: number; cpu: number }> {
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  const wall = performance.now() - t;
  const d = process.cpuUsage(c);
  return { wall, cpu: (d.user + d.system) / 1000 };
}

type Timing = { wall: number; cpu: number };

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

const ONLY = process.env.BENCH_SERVER_ONLY;
if (ONLY !== undefined && ONLY !== 'ingest' && ONLY !== 'pages') throw new Error(`BENCH_SERVER_ONLY: ingest or pages, not ${ONLY}`);

async function main() {
  console.log('readsync server benchmarks (SQLite, WAL)\n');
  if (ONLY !== 'pages') await ingest();
  if (ONLY !== 'ingest') await memberPages(dir);
}

async function ingest() {
  const acks = READERS * MESSAGES;
  const rate = (ms: number) => acks / (ms / 1000);
  const cases: { onDisk: boolean; synchronous: Synchronous; label: string }[] = [
    { onDisk: true, synchronous: 'full', label: 'on disk, synchronous=FULL (default)' },
    { onDisk: true, synchronous: 'normal', label: 'on disk, synchronous=NORMAL (opt-in)' },
    { onDisk: false, synchronous: 'full', label: 'in memory' },
  ];
  const oursMs = new Map<Synchronous, number>();
  let run = 0;
  for (const c of cases) {
    const load = loadNow();
    const measure = async (n: number): Promise<IngestRun[]> => {
      const out: IngestRun[] = [];
      for (let i = 0; i < n; i++) {
        const r = ++run;
        out.push(await ingestSubscribed((name) => (c.onDisk ? join(dir, `${r}-${c.synchronous}-${name}`) : ':memory:'), c.synchronous));
      }
      return out;
    };
    await measure(1); // warm-up
    let runs = await measure(PAIRS);
    let j = judge(runs.map((x) => x.raw / x.ours), 0.5, 'least');
    let attempts = 1;
    if (j.verdict === 'noisy') {
      console.log(`  (${c.label}: the pairs disagree, ${ratioText(j)}; measuring again)`);
      runs = await measure(PAIRS);
      j = judge(runs.map((x) => x.raw / x.ours), 0.5, 'least');
      attempts++;
    }
    const ours = median(runs.map((x) => x.ours));
    const raw = median(runs.map((x) => x.raw));
    const commits = median(runs.map((x) => x.commits));
    if (c.onDisk) oursMs.set(c.synchronous, ours);
    const mb = median(runs.map((x) => x.bytes)) / 1e6;
    const frames = median(runs.map((x) => x.frames));
    console.log(`e. ack ingest, ${fmt(acks)} acks in ${READERS} batches of ${MESSAGES}, senders subscribed (5 event streams, 10 ms coalescing), database ${c.label}`);
    console.log(`  through the server, until the senders saw every read : ${fmt(rate(ours))} acks/s (${ours.toFixed(0)} ms; committed after ${commits.toFixed(0)} ms)`);
    console.log(`  fan-out                : ${fmt(frames)} frames, ${mb.toFixed(1)} MB of JSON to the senders`);
    console.log(`  raw SQLite INSERT      : ${fmt(rate(raw))} rows/s (${raw.toFixed(0)} ms)`);
    console.log(`  ratio                  : ${ratioText(j)} the raw rate  bar ≥ 0.5×  ${j.verdict}  load ${load[0]}\n`);
    recordResult({ key: 'server', name: `e. ingest 100,000 acks, senders subscribed, ${c.label}`, ratio: j.ratio, spread: [j.min, j.max], pairs: j.pairs, bar: '≥ 0.5×', verdict: j.verdict, load, attempts, lib: ours, raw, unit: 'ms' });
  }
  const single = { full: Infinity, normal: Infinity };
  for (let r = 0; r < 3; r++) {
    for (const sync of ['full', 'normal'] as const) single[sync] = Math.min(single[sync], (await singleAckIngest(sync, r)).wall);
  }
  const full = rate(oursMs.get('full') ?? NaN);
  const normal = rate(oursMs.get('normal') ?? NaN);
  const singleRate = (ms: number) => SINGLE_ACK_BATCHES / (ms / 1000);
  console.log('durability cost on disk, SyncCore + SqliteStore (info: FULL fsyncs the WAL at every commit, NORMAL at checkpoints)');
  console.log(`  ${MESSAGES}-ack batches : FULL ${fmt(full)} acks/s, NORMAL ${fmt(normal)} acks/s, FULL at ${(full / normal).toFixed(2)}× NORMAL's rate (senders subscribed, medians)`);
  console.log(
    `  1-ack batches   : FULL ${fmt(singleRate(single.full))} acks/s, NORMAL ${fmt(singleRate(single.normal))} acks/s, FULL at ${(single.normal / single.full).toFixed(2)}× NORMAL's rate (${fmt(SINGLE_ACK_BATCHES)} commits, best of 3)\n`,
  );
}


main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
