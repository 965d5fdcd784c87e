/**
 * l. Single receipt latency (issue 14): n live readState$ subscriptions, then
 * `count` single receipts delivered one at a time to the worker through its
 * transport's event stream (as the WebSocket delivers them), each awaited
 * until its subscriber on the page has seen it. Each latency runs from the
 * receipt's arrival at the worker (stamped by the bench worker just before
 * the event stream hands it on) to the subscriber's callback on the page,
 * both on the epoch clock `performance.timeOrigin + performance.now()`.
 */
import { wrap } from 'comlink';
import { firstValueFrom, type Subscription } from 'rxjs';
import { createReadSyncClient } from '../../src/client';
import type { ReadState } from '../../src/bridge';
import type { BenchExtras } from './libWorker';
import { makeMessages, makeReceipt } from './fixtures';
import { deleteDb } from './rawIdb';

const CONV = 'g-latency';
const epochNow = (): number => performance.timeOrigin + performance.now();

export interface LatencyRun {
  /** Arrival at the worker → subscriber callback, per receipt, in ms. */
  latencies: number[];
  /** First receipt handed to the worker → last one seen on the page (the trickle of `count` awaited updates). */
  trickleMs: number;
  subscribeMs: number;
}

export async function libLatency(tag: string, n: number, count: number): Promise<LatencyRun> {
  const dbName = `lib-l-${tag}`;
  await deleteDb(dbName);
  const worker = new Worker(new URL('./libWorker.ts', import.meta.url), { type: 'module' });
  worker.addEventListener('error', (e) => console.error(`bench worker error: ${e.message}`));
  const client = createReadSyncClient({ worker, userId: 'me', token: 'bench', serverUrl: 'bench://local', dbName, environment: false, flush: { debounceMs: 3_600_000, intervalMs: 3_600_000 } });
  const extras = wrap<BenchExtras>(worker);
  const subs: Subscription[] = [];
  try {
    const messages = makeMessages(tag, n, CONV, 'me', 5);
    await client.receiveMessages(messages);
    await firstValueFrom(client.syncStatus$);
    await extras.benchIdle();
    // The subscriber of message i resolves `waiting[i]` when it shows the awaited read count.
    let initial = 0;
    let onInitial: () => void = () => undefined;
    const allInitial = new Promise<void>((r) => (onInitial = r));
    const waiting = new Map<number, { readCount: number; seen: (at: number) => void }>();
    const t0s = performance.now();
    messages.forEach((m, i) => {
      let first = true;
      subs.push(
        client.readState$(m.id).subscribe((s: ReadState | null) => {
          if (s === null) return;
          if (first && ++initial === n) onInitial();
          first = false;
          const w = waiting.get(i);
          if (w && s.readCount >= w.readCount) {
            waiting.delete(i);
            w.seen(epochNow());
          }
        }),
      );
    });
    await allInitial;
    const subscribeMs = performance.now() - t0s;
    await extras.benchIdle();
    await new Promise((r) => setTimeout(r, 100));
    await extras.benchArrivals();
    const seenAt: number[] = [];
    const t0 = performance.now();
    for (let k = 0; k < count; k++) {
      const i = Math.floor(((k + 0.5) * n) / count);
      const m = messages[i];
      if (!m) throw new Error(`no message ${i}`);
      const seen = new Promise<number>((resolve) => waiting.set(i, { readCount: 1, seen: resolve }));
      const sent = extras.benchArrive([makeReceipt(m, 1, Date.now())]);
      seenAt.push(await seen);
      await sent;
    }
    const trickleMs = performance.now() - t0;
    const arrivals = await extras.benchArrivals();
    if (arrivals.length !== count) throw new Error(`the worker noted ${arrivals.length} arrivals of ${count}`);
    return { latencies: seenAt.map((at, k) => at - (arrivals[k] as number)), trickleMs, subscribeMs };
  } finally {
    for (const s of subs) s.unsubscribe();
    await client.close();
    await deleteDb(dbName);
  }
}
