/**
 * The page side of the peers workload (issue 14): one run of one peer at n
 * subscriptions. First values for all, a bulk update of every row seen by
 * all subscribers, a trickle of single updates each awaited until its
 * subscriber sees it, missed updates within a time limit, and whether the
 * subscriber fires before or after the peer's IndexedDB commit.
 */
import { clearCommitNotes, epochNow, firstCommitAfter, installCommitProbe, writesQuiet } from './idbCommitProbe';
import { dexiePeer } from './dexiePeer';
import { readsyncPeer } from './readsyncPeer';
import { rxdbPeer } from './rxdbPeer';
import { tanstackIdbAll, tanstackIdbEach, tanstackMemory } from './tanstackPeers';
import { peerRows, type Peer, type PeerSession } from './PeerSession';

const PEERS: Peer[] = [readsyncPeer, tanstackIdbAll, tanstackIdbEach, tanstackMemory, dexiePeer, rxdbPeer];

/** Updates in the trickle, and those checked for commit order. */
const TRICKLE = 100;
const ORDER_PROBES = 5;

export interface PeerRunResult {
  peer: string;
  name: string;
  n: number;
  /** Untimed: seeding the storage (ms); and, for TanStack DB, loading the stored rows into memory. */
  setupMs: number;
  loadMs: number | null;
  /** null: not all first values within the limit (`firstMissed` subscribers had none). */
  firstMs: number | null;
  firstMissed: number;
  /** Subscribers created before the first-values limit ran out (n when all were). */
  subscribed: number;
  bulkMs: number | null;
  bulkMissed: number;
  /** Total of the awaited single updates; null when the trickle ran over the limit. */
  trickleMs: number | null;
  trickleP50: number;
  trickleP99: number;
  trickleMax: number;
  trickleMissed: number;
  /** Single updates not started because the trickle's time limit ran out. */
  trickleNotRun: number;
  /** Of the order probes: subscriber fired before the first readwrite commit after the update began / after it / no commit seen. */
  order: { before: number; after: number; noCommit: number };
  /** Whether the peer writes to IndexedDB at all (the in-memory reference does not). */
  durable: boolean;
  limitMs: number;
  error?: string;
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] as number;
}

/** Resolves when `done()` holds (checked on every value) or after `ms`; true when done. */
function until(hook: { check: () => void }, done: () => boolean, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (done()) return resolve(true);
    const timer = setTimeout(() => {
      hook.check = () => undefined;
      resolve(done());
    }, ms);
    hook.check = () => {
      if (!done()) return;
      clearTimeout(timer);
      hook.check = () => undefined;
      resolve(true);
    };
  });
}

async function settle(s: PeerSession): Promise<void> {
  if (s.settle) await s.settle();
  if (s.dbMatch) await writesQuiet(s.dbMatch);
}

/** One run of `peerKey` at n subscriptions; each phase gets at most `limitMs` (then reported as over it). */
export async function peerRun(peerKey: string, n: number, tag: string, limitMs: number): Promise<PeerRunResult> {
  const peer = PEERS.find((p) => p.key === peerKey);
  if (!peer) throw new Error(`no peer ${peerKey} (known: ${PEERS.map((p) => p.key).join(', ')})`);
  installCommitProbe();
  clearCommitNotes();
  const rows = peerRows(tag, n);
  const out: PeerRunResult = {
    peer: peer.key,
    name: peer.name,
    n,
    setupMs: 0,
    loadMs: null,
    firstMs: null,
    firstMissed: n,
    subscribed: 0,
    bulkMs: null,
    bulkMissed: n,
    trickleMs: null,
    trickleP50: NaN,
    trickleP99: NaN,
    trickleMax: NaN,
    trickleMissed: 0,
    trickleNotRun: TRICKLE,
    order: { before: 0, after: 0, noCommit: 0 },
    durable: true,
    limitMs,
  };
  const t0s = performance.now();
  const s = await peer.open(tag, rows);
  out.setupMs = performance.now() - t0s;
  out.loadMs = s.loadMs ?? null;
  out.durable = s.dbMatch !== null;
  try {
    // Every value a subscriber gets: its row's read count, and when it was first seen.
    const seen = new Int32Array(n).fill(-1);
    let firstCount = 0;
    let target = -1;
    let reached = 0;
    const hook = { check: () => undefined as void };
    let watch: { i: number; value: number; at: number } | null = null;
    await settle(s);
    const t0 = performance.now();
    out.subscribed = s.subscribe((i, readCount) => {
      const prev = seen[i] as number;
      seen[i] = readCount;
      if (prev === -1) firstCount++;
      if (readCount === target && prev !== target) reached++;
      if (watch && watch.i === i && readCount === watch.value && watch.at === 0) watch.at = epochNow();
      hook.check();
    }, t0 + limitMs);
    const firstOk = await until(hook, () => firstCount === n, Math.max(0, t0 + limitMs - performance.now()));
    out.firstMissed = n - firstCount;
    if (!firstOk) return out;
    out.firstMs = performance.now() - t0;
    if (out.firstMs > limitMs) return out;
    await settle(s);

    // Bulk: every row gets read count 1, in one change.
    target = 1;
    reached = 0;
    const all = rows.map((_, i) => i);
    const fireBulk = await s.prepare(all, 1);
    const tb = performance.now();
    void Promise.resolve(fireBulk()).catch((e: unknown) => console.error(`${peer.key} bulk: ${String(e)}`));
    const bulkOk = await until(hook, () => reached === n, limitMs);
    out.bulkMissed = n - reached;
    if (!bulkOk) return out;
    out.bulkMs = performance.now() - tb;
    // A bulk update that blocked the page past the limit (the timer could not fire) ends the run too.
    if (out.bulkMs > limitMs) return out;
    await settle(s);

    // Trickle: single updates (read count 2) on rows spread over the n, each awaited until its subscriber sees it.
    const picks = Array.from({ length: TRICKLE }, (_, k) => Math.floor((k * n) / TRICKLE));
    const times: number[] = [];
    let spent = 0;
    out.trickleNotRun = 0;
    for (let k = 0; k < picks.length; k++) {
      const i = picks[k] as number;
      const left = limitMs - spent;
      if (left <= 0) {
        out.trickleNotRun = picks.length - k;
        break;
      }
      const fire = await s.prepare([i], 2);
      const t = performance.now();
      void Promise.resolve(fire()).catch((e: unknown) => console.error(`${peer.key} update: ${String(e)}`));
      const ok = await until(hook, () => seen[i] === 2, Math.min(left, 5_000));
      const dt = performance.now() - t;
      spent += dt;
      if (ok) times.push(dt);
      else out.trickleMissed++;
    }
    out.trickleP50 = quantile(times, 0.5);
    out.trickleP99 = quantile(times, 0.99);
    out.trickleMax = times.length ? Math.max(...times) : NaN;
    if (out.trickleNotRun === 0 && out.trickleMissed === 0) out.trickleMs = spent;
    await settle(s);

    // Commit order: a few single updates (read count 3), each alone (no write pending before it).
    if (s.dbMatch) {
      for (let k = 0; k < ORDER_PROBES; k++) {
        const i = picks[k * 7] as number;
        await settle(s);
        const fire = await s.prepare([i], 3);
        watch = { i, value: 3, at: 0 };
        const w = watch;
        const started = epochNow();
        void Promise.resolve(fire()).catch((e: unknown) => console.error(`${peer.key} probe: ${String(e)}`));
        await until(hook, () => w.at > 0, 5_000);
        await writesQuiet(s.dbMatch, 50, 5_000);
        const committed = firstCommitAfter(s.dbMatch, started);
        if (committed === undefined || w.at === 0) out.order.noCommit++;
        else if (w.at < committed) out.order.before++;
        else out.order.after++;
        watch = null;
      }
    }
    return out;
  } catch (e) {
    out.error = (e as Error).message;
    return out;
  } finally {
    await Promise.race([s.close().catch((e: unknown) => console.error(`${peer.key} close: ${String(e)}`)), new Promise((r) => setTimeout(r, 10_000))]);
  }
}
