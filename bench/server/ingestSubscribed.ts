/**
 * e. Ack ingest with the senders subscribed (issue 14): 100,000 acks (200
 * readers × 500 messages, one 500-ack batch per reader, what a flushing
 * client sends) through `SyncCore` of a running reference server
 * (`createSyncServer`: its EventHub with the default 10 ms receipt
 * coalescing, the WebSocket route, one stream per sender held by a client in
 * another process), timed from the first batch until every batch is
 * committed and every sender's stream has shown every message fully read.
 * Ceiling: a raw prepared INSERT of the same read rows into an identical
 * table with the same pragmas, one transaction per batch. Bar: ≥ 0.5× its
 * rate. Pairs interleaved (raw, then ours), each on fresh databases.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import type { Ack } from '../../src/protocol';
import { createSyncServer } from '../../src/server/createSyncServer';
import { SqliteStore } from '../../src/server/store/SqliteStore';
import { SQLITE_SCHEMA } from '../../src/server/store/sqliteSchema';

const uid = (i: number) => `u${String(i).padStart(6, '0')}`;
/** 16-character message ids, like newMessageId()'s. */
const mid = (i: number) => `ingest-msg${String(i).padStart(6, '0')}`;

export const READERS = 200;
export const MESSAGES = 500;
/** The messages' senders, each subscribed with one event stream. */
const SENDERS = 5;

export type Synchronous = 'full' | 'normal';

export interface IngestRun {
  /** First batch → every batch committed and every sender shown all reads (ms). */
  ours: number;
  /** First batch → last batch committed (ms): the same without waiting for the fan-out. */
  commits: number;
  raw: number;
  frames: number;
  bytes: number;
}

/** The senders' streams in a child process; resolves once they are open, then with what they saw. */
async function startSink(urls: string[]): Promise<{ seen: Promise<{ doneAt: number; frames: number; bytes: number }>; stop(): void }> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'receiptSink.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(`${JSON.stringify({ urls, messages: MESSAGES, readers: READERS })}\n`);
  const lines = createInterface({ input: child.stdout });
  const it = lines[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.value !== 'ready') throw new Error(`receipt sink: ${String(first.value)}`);
  const seen = it.next().then((r) => {
    if (r.done) throw new Error('receipt sink ended without a result');
    return JSON.parse(r.value as string) as { doneAt: number; frames: number; bytes: number };
  });
  return { seen, stop: () => child.kill() };
}

export async function ingestSubscribed(file: (name: string) => string, synchronous: Synchronous): Promise<IngestRun> {
  const batches: { user: string; acks: Ack[] }[] = Array.from({ length: READERS }, (_, r) => ({
    user: uid(r),
    acks: Array.from({ length: MESSAGES }, (_, m) => ({ m: mid(m), t: 1_700_000_000_000 + m })),
  }));
  const raw = rawIngest(file('raw.db'), synchronous, batches);

  const store = new SqliteStore({ filename: file('ours.db'), synchronous });
  const server = await createSyncServer({ store, config: { secret: 'readsync-bench-ingest-secret', limits: { maxAckBatch: MESSAGES } } });
  const { url } = await server.listen(0, '127.0.0.1');
  const { core } = server;
  const senders = Array.from({ length: SENDERS }, (_, s) => `sender${s}`);
  await core.admin.createGroup({ id: 'g', name: 'G', groupType: 'work', members: [...senders, ...batches.map((b) => b.user)] });
  const perSender = MESSAGES / SENDERS;
  for (const [s, sender] of senders.entries()) {
    for (let b = 0; b < perSender; b += 100) {
      const messages = Array.from({ length: Math.min(100, perSender - b) }, (_, i) => ({ id: mid(s * perSender + b + i), convId: 'g', text: 'x', needReadReceipt: true, createdAt: 1 }));
      await core.sendMessages(sender, { type: 'send-messages', messages });
    }
  }
  const issue = server.auth.issue?.bind(server.auth);
  if (!issue) throw new Error('bench: the server cannot issue tokens');
  const sink = await startSink(senders.map((s) => `${url.replace(/^http/, 'ws')}/v1/events?token=${encodeURIComponent(issue(s))}`));
  try {
    const startedAt = Date.now();
    const t0 = performance.now();
    for (const [i, b] of batches.entries()) {
      await core.ackBatch(b.user, { type: 'ack-batch', batchId: `bench-batch-${i}`, acks: b.acks });
      // Batches arrive as separate requests: the event loop turns between them, so the
      // coalescing timer fires as it would in service (back to back, it never would).
      await new Promise((r) => setImmediate(r));
    }
    const commits = performance.now() - t0;
    const seen = await Promise.race([sink.seen, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the senders did not see every read within 60 s')), 60_000))]);
    return { ours: Math.max(commits, seen.doneAt - startedAt), commits, raw, frames: seen.frames, bytes: seen.bytes };
  } finally {
    sink.stop();
    await server.close();
    await store.close();
  }
}

/** The raw ceiling: the same read rows, same table and indexes, same pragmas, one transaction per batch (ms). */
function rawIngest(filename: string, synchronous: Synchronous, batches: { user: string; acks: Ack[] }[]): number {
  const db = new Database(filename);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
  db.exec(SQLITE_SCHEMA);
  const insert = db.prepare('INSERT INTO reads (message_id, user_id, read_at, ack_seq) VALUES (?, ?, ?, ?)');
  let seq = 0;
  const insertBatch = db.transaction((user: string, acks: Ack[]) => {
    for (const a of acks) insert.run(a.m, user, a.t, ++seq);
  });
  const t = performance.now();
  for (const b of batches) insertBatch(b.user, b.acks);
  const ms = performance.now() - t;
  db.close();
  return ms;
}
