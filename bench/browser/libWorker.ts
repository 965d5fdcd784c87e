/**
 * The bench's worker entry: the library's own `WorkerEntry` (what
 * worker/index.ts exposes: init + the WorkerApi over one ReadSyncWorker),
 * with the transport chosen by `serverUrl`: `bench://…` → BenchTransport (no
 * network), anything else → the real HttpTransport to the reference server.
 * It adds a few `bench*` methods (reached through a second Comlink wrap) to
 * inject a receipt burst, wait for idle, and count the ack requests sent.
 */
import { expose } from 'comlink';
import { installErrorTransfer, updateCount, type UpdateBatch, type WorkerInitOptions } from '../../src/bridge';
import type { MessageReceipt } from '../../src/protocol';
import { WorkerEntry } from '../../worker/WorkerEntry';
import { HttpTransport } from '../../worker/transport/HttpTransport';
import type { Transport } from '../../worker/transport/Transport';
import { BenchTransport } from './BenchTransport';

installErrorTransfer();

/**
 * Ack requests as the worker sent them. The timed path only keeps the body
 * and the time to the response headers (the library reads the body itself);
 * sizes are worked out later, in benchFetchStats, outside the measurement.
 */
const fetchStats = { requests: 0, bodyBytes: 0, acks: 0, maxAckBytes: 0, fetchMs: 0 };
let unsized: string[] = [];
const countingFetch: typeof fetch = async (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (!url.includes('/v1/acks') || typeof init?.body !== 'string') return fetch(input, init);
  fetchStats.requests++;
  unsized.push(init.body);
  const t0 = performance.now();
  const res = await fetch(input, init);
  fetchStats.fetchMs += performance.now() - t0;
  return res;
};

/** Folds the bodies sent since the last call into the byte and ack counts. */
function sizeBodies(): void {
  const enc = new TextEncoder();
  for (const body of unsized) {
    fetchStats.bodyBytes += enc.encode(body).length;
    const acks = (JSON.parse(body) as { acks?: unknown[] }).acks ?? [];
    fetchStats.acks += acks.length;
    for (const a of acks) fetchStats.maxAckBytes = Math.max(fetchStats.maxAckBytes, enc.encode(JSON.stringify(a)).length);
  }
  unsized = [];
}

let bench: BenchTransport | null = null;
/** Sink posts since the last benchPosts() call: when (epoch ms) and how many updates. */
let posts: { at: number; count: number }[] = [];
let prepared: MessageReceipt[] = [];
let cursor = 0;
/** When each single receipt reached the worker's event stream (epoch ms, performance clock), in order. */
let arrivals: number[] = [];

function createTransport(o: WorkerInitOptions): Transport {
  if (o.serverUrl.startsWith('bench:')) return (bench = new BenchTransport());
  return new HttpTransport({ serverUrl: o.serverUrl, token: o.token, fetch: countingFetch });
}

const entry = new WorkerEntry({ createTransport });

function core() {
  const w = entry.current;
  if (!w) throw new Error('bench worker: not initialised');
  return w;
}

/** The bench-only methods. */
export interface BenchExtras {
  benchPrepareReceipts(receipts: MessageReceipt[]): Promise<void>;
  benchFireReceipts(): Promise<void>;
  /** Delivers one receipts event through the transport's event stream, noting when it arrived (the latency workload). */
  benchArrive(receipts: MessageReceipt[]): Promise<void>;
  /** Arrival times noted since the previous call (and forgets them). */
  benchArrivals(): Promise<number[]>;
  benchIdle(): Promise<void>;
  /** Sink posts since the previous call (and forgets them). */
  benchPosts(): Promise<{ at: number; count: number }[]>;
  benchFetchStats(): Promise<{ requests: number; bodyBytes: number; acks: number; maxAckBytes: number; fetchMs: number }>;
}

const extras: BenchExtras = {
  async benchPrepareReceipts(receipts) {
    prepared = receipts;
  },
  async benchFireReceipts() {
    if (!bench) throw new Error('bench worker: the receipt burst needs serverUrl "bench://"');
    bench.emit({ type: 'receipts', receipts: prepared, cursor: ++cursor });
  },
  async benchArrive(receipts) {
    if (!bench) throw new Error('bench worker: single receipts need serverUrl "bench://"');
    const event = { type: 'receipts' as const, receipts, cursor: ++cursor };
    arrivals.push(performance.timeOrigin + performance.now());
    bench.emit(event);
  },
  async benchArrivals() {
    const out = arrivals;
    arrivals = [];
    return out;
  },
  async benchIdle() {
    await core().engine.idle();
    await core().hub.idle();
  },
  async benchFetchStats() {
    sizeBodies();
    return { ...fetchStats };
  },
  async benchPosts() {
    const out = posts;
    posts = [];
    return out;
  },
};

// One exposed object: the WorkerEntry's methods (bound) plus the extras.
const api: Record<string, unknown> = { ...extras };
for (const name of Object.getOwnPropertyNames(WorkerEntry.prototype)) {
  if (name === 'constructor') continue;
  const fn = (entry as unknown as Record<string, unknown>)[name];
  if (typeof fn === 'function') api[name] = (fn as (...a: unknown[]) => unknown).bind(entry);
}
// The sink is wrapped only to note when the hub posts (epoch ms, comparable across threads).
api.attach = (sink: (batch: UpdateBatch) => unknown) =>
  entry.attach((batch) => {
    posts.push({ at: performance.timeOrigin + performance.now(), count: updateCount(batch) });
    return sink(batch);
  });
expose(api);
