/**
 * c. Burst from the server: n readState$ subscribers on my messages; another
 * user's n acks go through the reference server over HTTP (batches of
 * maxAckBatch, one after the other, as a flushing reader sends them); the
 * receipts come back over the WebSocket in the server's events. Timed from
 * the first ack request until every subscriber shows its new read count.
 * Raw ceiling: a plain worker on its own WebSocket receiving the same
 * frames, writing them to IndexedDB, posting the library's columns.
 */
import type { Message } from '../../src/protocol';
import { toRow } from '../browser/fixtures';
import { fromPairs, mainThreadChecks, median } from './report';
import type { BenchServer } from './startBenchServer';
import { N, pairs, type Workload } from './workload';

/** Measured pairs after one warm-up (BENCH_REPS overrides; at most 5). */
const REPS = Math.min(Number(process.env.BENCH_REPS ?? 3), 5);
/** Subscribers and acks (BENCH_BURST_N for short runs while developing). */
const SIZE = Number(process.env.BENCH_BURST_N ?? N);

interface Seeded {
  convId: string;
  sender: string;
  reader: string;
  messages: Message[];
}

/** Seeds made by this process so far (message ids carry it). */
let seeds = 0;

/** A fresh group of a sender and a reader, holding `n` of the sender's messages that ask for receipts (setup). */
export async function seed(server: BenchServer, side: string, rep: string, n: number): Promise<Seeded> {
  const { core } = server.sync;
  const convId = `g-cs-${side}-${rep}`;
  const sender = `cs-${side}-${rep}-me`;
  const reader = `cs-${side}-${rep}-rd`;
  await core.admin.createGroup({ id: convId, name: 'bench burst', groupType: 'work', members: [sender, reader] });
  const max = core.config.limits.maxMessageBatch;
  const tag = (++seeds).toString(36).padStart(3, '0');
  const messages: Message[] = [];
  for (let i = 0; i < n; i += max) {
    const res = await core.sendMessages(sender, {
      type: 'send-messages',
      // 16-character ids, like newMessageId()'s, unique per seed on this server (ids are global: a
      // workload seeding after another must not reuse its ids, or the server refuses them).
      messages: Array.from({ length: Math.min(max, n - i) }, (_, k) => ({ id: `${tag}_${String(i + k).padStart(12, '0')}`, convId, text: `burst message ${i + k}`, needReadReceipt: true, createdAt: Date.now() })),
    });
    for (const r of res.results) if (r.message) messages.push(r.message);
  }
  if (messages.length !== n) throw new Error(`seeded ${messages.length} of ${n} messages`);
  return { convId, sender, reader, messages };
}

/** The reader's acks through the server's HTTP API; returns the epoch ms of the first request. */
export async function ackAll(server: BenchServer, s: Seeded): Promise<number> {
  const batch = server.sync.core.config.limits.maxAckBatch;
  const token = server.token(s.reader);
  const bodies: string[] = [];
  const now = Date.now();
  for (let i = 0; i < s.messages.length; i += batch) {
    bodies.push(JSON.stringify({ type: 'ack-batch', batchId: `${s.reader}-${i}`, acks: s.messages.slice(i, i + batch).map((m) => ({ m: m.id, t: now })) }));
  }
  const t0 = Date.now();
  for (const body of bodies) {
    const res = await fetch(`${server.url}/v1/acks`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
    if (!res.ok) throw new Error(`acks: HTTP ${res.status} ${await res.text()}`);
    await res.json();
  }
  return t0;
}

export const socketBurst: Workload = {
  key: 'burst',
  name: `c. ${SIZE.toLocaleString('en-US')} readState$, burst from the server`,
  // Each run seeds its own 10,000 messages on the server and in a fresh database: slow to set up.
  timeoutMs: 600_000,
  async run(page, server) {
    const one = async (side: 'raw' | 'lib', rep: string) => {
      const s = await seed(server, side, rep, SIZE);
      let subscribeMs = NaN;
      if (side === 'raw') {
        await page.evaluate(([t, token, rows]) => window.bench.rawSocketBurstOpen(t, token, rows), [`${rep}`, server.token(s.sender), s.messages.map((m) => toRow(m, s.sender))] as const);
      } else {
        subscribeMs = (await page.evaluate(([t, u, token, c, m]) => window.bench.libSocketBurstOpen(t, u, token, c, m), [`${rep}`, s.sender, server.token(s.sender), s.convId, s.messages] as const)).subscribeMs;
      }
      try {
        await page.evaluate(() => window.bench.socketBurstArm(1));
        const waiting = page.evaluate(() => window.bench.socketBurstWait());
        const t0 = await ackAll(server, s);
        const w = await waiting;
        return { ...w, ms: w.lastAt - t0, firstMs: w.firstAt - t0, subscribeMs };
      } finally {
        await page.evaluate(() => window.bench.socketBurstClose());
      }
    };
    const r = await pairs(REPS, (rep) => one('raw', rep), (rep) => one('lib', rep));
    const rawLongest = Math.max(...r.raw.map((x) => x.longestTaskMs));
    const frames = median(r.lib.map((x) => x.frames));
    const posts = median(r.lib.map((x) => x.posts));
    return {
      name: this.name,
      ...fromPairs(
        r.raw.map((x) => x.ms),
        r.lib.map((x) => x.ms),
      ),
      bar: 2,
      checks: [
        ...mainThreadChecks(r.lib, `most update posts in one frame (${posts} posts, ${frames} frames)`, `longest main-thread task in burst (raw ${rawLongest.toFixed(0)} ms)`),
        { label: 'info: first ack request → first subscriber updated', value: `lib ${median(r.lib.map((x) => x.firstMs)).toFixed(0)} / raw ${median(r.raw.map((x) => x.firstMs)).toFixed(0)} ms`, bar: '—', pass: true },
        { label: `info: ${SIZE.toLocaleString('en-US')} subscribe → first values`, value: `${median(r.lib.map((x) => x.subscribeMs)).toFixed(0)} ms`, bar: '—', pass: true },
      ],
    };
  },
};
