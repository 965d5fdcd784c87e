import type { Message } from '../../src/protocol';
import type { BenchApi } from '../browser/main';
import { fromPairs, mainThreadChecks, median } from './report';
import { N, pairs, type Workload } from './workload';
import { bulkSend, openHistory } from './syncWorkloads';
import { socketBurst } from './socketBurstWorkload';
import { peers } from './peersWorkload';
import { latency } from './latencyWorkload';
import { burstScale } from './burstScaleWorkload';

export { N, pairs, type Workload };

declare global {
  interface Window {
    bench: BenchApi;
  }
}

/** Measured runs per side after one warm-up (BENCH_REPS overrides). */
const REPS = Number(process.env.BENCH_REPS ?? 3);

/** One warm-up, then the median of REPS runs of `fn`. */
async function medianOf(fn: () => Promise<number>): Promise<number> {
  await fn();
  const xs: number[] = [];
  for (let i = 0; i < REPS; i++) xs.push(await fn());
  return median(xs);
}


/** Messages in the database workload a marks N of (BENCH_MARKREAD_DB; SPEC: 50,000). */
const MARKREAD_DB = Number(process.env.BENCH_MARKREAD_DB ?? 50_000);
/** Messages marked (BENCH_MARKREAD_N for short runs). */
const MARKREAD_N = Number(process.env.BENCH_MARKREAD_N ?? N);

const markRead: Workload = {
  key: 'markread',
  name: `a. markRead ${MARKREAD_N.toLocaleString('en-US')} of ${MARKREAD_DB.toLocaleString('en-US')} → shown`,
  async run(page) {
    const r = await pairs(
      Math.min(REPS, 3),
      (rep) => page.evaluate(([t, n, total]) => window.bench.rawMarkRead(t, n, total), [`ra${rep}`, MARKREAD_N, MARKREAD_DB] as const),
      (rep) => page.evaluate(([t, n, total]) => window.bench.libMarkRead(t, n, total), [`la${rep}`, MARKREAD_N, MARKREAD_DB] as const),
    );
    const durable = fromPairs(
      r.raw.map((x) => x.durableMs),
      r.lib.map((x) => x.durableMs),
    );
    return {
      name: this.name,
      ...fromPairs(
        r.raw.map((x) => x.ms),
        r.lib.map((x) => x.ms),
      ),
      bar: 1.25,
      checks: [{ label: 'info: until durable (call resolved / commit)', value: `lib ${durable.lib.toFixed(0)} / raw ${durable.raw.toFixed(0)} ms, ${(durable.lib / durable.raw).toFixed(2)}×`, bar: '—', pass: true }],
    };
  },
};

/** c (info): the burst injected into the worker's event stream (no network), as measured before issue 14. */
const injectedBurst: Workload = {
  key: 'burst-injected',
  name: "c'. 10,000 readState$, injected burst (info)",
  async run(page) {
    const r = await pairs(
      Math.min(REPS, 3),
      (rep) => page.evaluate(([t, n]) => window.bench.rawBurst(t, n), [`rc${rep}`, N] as const),
      (rep) => page.evaluate(([t, n]) => window.bench.libBurst(t, n), [`lc${rep}`, N] as const),
    );
    const posts = median(r.lib.map((x) => x.posts));
    const frames = median(r.lib.map((x) => x.frames));
    const rawLongest = Math.max(...r.raw.map((x) => x.longestTaskMs));
    return {
      name: this.name,
      ...fromPairs(
        r.raw.map((x) => x.ms),
        r.lib.map((x) => x.ms),
      ),
      bar: 2,
      checks: [
        ...mainThreadChecks(r.lib, `most update posts in one frame (${posts} posts, ${frames} frames)`, `longest main-thread task in burst (raw ${rawLongest.toFixed(0)} ms)`),
        { label: 'info: fire → hub posts (worker side)', value: `${median(r.lib.map((x) => x.workerMs)).toFixed(0)} ms`, bar: '—', pass: true },
        { label: 'info: fire → first subscriber updated', value: `${median(r.lib.map((x) => x.firstUpdateMs)).toFixed(0)} ms`, bar: '—', pass: true },
        { label: 'info: 10,000 subscribe → first values', value: `${median(r.lib.map((x) => x.subscribeMs)).toFixed(0)} ms`, bar: '—', pass: true },
      ],
    };
  },
};

const coldStart: Workload = {
  key: 'cold',
  name: 'd. cold start, 10,000-message conversation',
  async run(page, server) {
    await page.evaluate(([t, n]) => window.bench.rawColdSeed(t, n), ['rd', N] as const);
    await page.evaluate(([t, n]) => window.bench.libColdSeed(t, n), ['ld', N] as const);
    const r = await pairs(
      REPS,
      () => page.evaluate(([t, n]) => window.bench.rawColdRead(t, n), ['rd', N] as const),
      () => page.evaluate(([t, n]) => window.bench.libColdRead(t, n), ['ld', N] as const),
    );
    const token = server.token('bob');
    const shipped = await medianOf(async () => (await page.evaluate(([t, n, k]) => window.bench.libColdReadShipped(t, n, k), ['ld', N, token] as const)).ms);
    return {
      name: this.name,
      ...fromPairs(
        r.raw.map((x) => x.ms),
        r.lib.map((x) => x.ms),
      ),
      bar: 1.5,
      checks: [
        { label: 'info: new worker → first sync-status value', value: `${median(r.lib.map((x) => x.readyMs)).toFixed(0)} ms`, bar: '—', pass: true },
        { label: 'info: same via worker/index.ts + HTTP', value: `${shipped.toFixed(0)} ms`, bar: '—', pass: true },
      ],
    };
  },
};

const flush: Workload = {
  key: 'flush',
  name: 'b. flush 10,000 acks to the server',
  async run(page, server) {
    const reps = Math.min(REPS, 2);
    const { core } = server.sync;
    const readers = (side: string) => Array.from({ length: reps + 1 }, (_, i) => `${side}-reader-${i}`);
    const libReaders = readers('lib');
    const rawReaders = readers('raw');
    const durableReaders = ['durable-reader-1', 'durable-reader-2'];
    await core.admin.createGroup({ id: 'g-flush', name: 'bench flush', groupType: 'work', members: ['alice', ...libReaders, ...rawReaders, ...durableReaders] });
    // Ids as long as newMessageId()'s (16 chars), so the bytes per ack are realistic.
    const ids = Array.from({ length: N }, (_, i) => `flush_${String(i).padStart(10, '0')}`);
    const messages: Message[] = [];
    const maxMsg = core.config.limits.maxMessageBatch;
    for (let i = 0; i < N; i += maxMsg) {
      const res = await core.sendMessages('alice', {
        type: 'send-messages',
        messages: ids.slice(i, i + maxMsg).map((id, k) => ({ id, convId: 'g-flush', text: `benchmark message ${i + k}`, needReadReceipt: true, createdAt: Date.now() })),
      });
      for (const r of res.results) if (r.message) messages.push(r.message);
    }
    if (messages.length !== N) throw new Error(`seeded ${messages.length} messages`);
    const batch = core.config.limits.maxAckBatch;
    const idx = (rep: string) => (rep === 'w0' ? 0 : Number(rep.slice(1)));
    const r = await pairs(
      reps,
      (rep) => {
        const user = rawReaders[idx(rep)] as string;
        const now = Date.now();
        const bodies: string[] = [];
        for (let i = 0; i < N; i += batch) {
          const acks = ids.slice(i, i + batch).map((m) => ({ m, t: now }));
          bodies.push(JSON.stringify({ type: 'ack-batch', batchId: `raw-${user}-${i}`, acks }));
        }
        return page.evaluate(([url, token, b]) => window.bench.rawFlush(url, token, b), [`${server.url}/v1/acks`, server.token(user), bodies] as const);
      },
      (rep) => {
        const user = libReaders[idx(rep)] as string;
        return page.evaluate(([t, u, token, m]) => window.bench.libFlush(t, u, token, m), [`lb${rep}`, user, server.token(user), messages] as const);
      },
    );
    // Information: what a flush that keeps the outbox durable needs at least (one getAll + one range delete per batch).
    const durable: number[] = [];
    for (const user of durableReaders) {
      const sorted = [...ids].sort();
      const d = await page.evaluate(([t, url, token, i, b]) => window.bench.rawFlushDurable(t, url, token, i, b), [user, `${server.url}/v1/acks`, server.token(user), sorted, batch] as const);
      durable.push(d.ms);
    }
    // Sanity: every reader's acks were accepted by the server (no-op requests would flatter either side).
    const first = (await core.queryReceipts('alice', { type: 'receipt-query', messageIds: [ids[0] as string, ids[N - 1] as string] })).receipts;
    for (const rc of first) if (rc.readCount !== 2 * (reps + 1) + durableReaders.length) throw new Error(`server counted ${rc.readCount} reads of ${rc.messageId}`);
    const expected = Math.ceil(N / batch);
    const requests = Math.max(...r.lib.map((x) => x.requests));
    const perAck = Math.max(...r.lib.map((x) => x.bodyBytes / x.acks));
    const maxAck = Math.max(...r.lib.map((x) => x.maxAckBytes));
    // Bytes per ack with the longest ids the protocol allows (32 characters), not timed:
    // 1,000 acks flushed by the library, their request bodies measured.
    const longIds = Array.from({ length: 1_000 }, (_, i) => `flush-long-id-${String(i).padStart(18, '0')}`);
    await core.admin.createGroup({ id: 'g-flush-32', name: 'bench flush 32', groupType: 'work', members: ['alice', 'long-reader'] });
    const longMessages: Message[] = [];
    for (let i = 0; i < longIds.length; i += maxMsg) {
      const res = await core.sendMessages('alice', {
        type: 'send-messages',
        messages: longIds.slice(i, i + maxMsg).map((id, k) => ({ id, convId: 'g-flush-32', text: `benchmark message ${i + k}`, needReadReceipt: true, createdAt: Date.now() })),
      });
      for (const m of res.results) if (m.message) longMessages.push(m.message);
    }
    const long = await page.evaluate(([t, u, token, m]) => window.bench.libFlush(t, u, token, m), ['lb32', 'long-reader', server.token('long-reader'), longMessages] as const);
    const perAck32 = long.bodyBytes / long.acks;
    return {
      name: this.name,
      ...fromPairs(
        r.raw.map((x) => x.ms),
        r.lib.map((x) => x.ms),
      ),
      bar: 1.5,
      checks: [
        { label: `ack requests (batch ${batch})`, value: String(requests), bar: `= ${expected}`, pass: requests === expected },
        { label: `JSON bytes per ack, 16-char ids (largest ack ${maxAck})`, value: perAck.toFixed(1), bar: '≤ 48', pass: perAck <= 48 && maxAck <= 48 },
        // The bar per id length: 48 bytes at 16 characters, plus one byte per further id character.
        { label: `JSON bytes per ack, 32-char ids (largest ack ${long.maxAckBytes})`, value: perAck32.toFixed(1), bar: '≤ 64', pass: perAck32 <= 64 && long.maxAckBytes <= 64 },
        { label: 'info: library time in HTTP requests (summed; 3 overlap)', value: `${median(r.lib.map((x) => x.fetchMs)).toFixed(0)} ms`, bar: '—', pass: true },
        { label: 'info: raw loop + getAll/range-delete per batch', value: `${median(durable).toFixed(0)} ms`, bar: '—', pass: true },
      ],
    };
  },
};

export const WORKLOADS: Workload[] = [markRead, flush, socketBurst, burstScale, latency, injectedBurst, coldStart, bulkSend, openHistory, peers];
