/** The library side of each workload: the real client → Comlink → worker → Dexie path. */
import { wrap, type Remote } from 'comlink';
import { filter, firstValueFrom, type Subscription } from 'rxjs';
import { createReadSyncClient, type ReadSyncClient } from '../../src/client';
import type { FlushOptions, ReadState } from '../../src/bridge';
import type { Message } from '../../src/protocol';
import type { BenchExtras } from './libWorker';
import { makeMessages, makeReceipt, markedIds } from './fixtures';
import { MainThreadMeter } from './MainThreadMeter';
import { deleteDb, countRows } from './rawIdb';

const CONV = 'g-bench';
/** Keeps the flusher out of the measured windows (flushes only when asked). */
const NO_AUTO_FLUSH: FlushOptions = { debounceMs: 3_600_000, intervalMs: 3_600_000 };

interface Handle {
  client: ReadSyncClient;
  extras: Remote<BenchExtras>;
  close(): Promise<void>;
}

function open(userId: string, dbName: string, serverUrl = 'bench://local', token = 'bench', flush: FlushOptions = NO_AUTO_FLUSH): Handle {
  const worker = new Worker(new URL('./libWorker.ts', import.meta.url), { type: 'module' });
  worker.addEventListener('error', (e) => console.error(`bench worker error: ${e.message}`));
  const client = createReadSyncClient({ worker, userId, token, serverUrl, dbName, flush, environment: false });
  const extras = wrap<BenchExtras>(worker);
  return {
    client,
    extras,
    async close() {
      // Not extras[releaseProxy](): releasing a second wrap would remove the worker's only Comlink listener.
      await client.close();
    },
  };
}

/** Waits for init (any client call awaits it), then for the worker's sync engine and subscription hub to settle. */
async function idle(h: Handle): Promise<void> {
  await firstValueFrom(h.client.syncStatus$);
  await h.extras.benchIdle();
}

/**
 * a. In a database of `total` messages of someone else, the UI shows `n` of
 * them (n readState$ subscriptions, first values received); `markRead` of
 * those n, timed from the call until every subscriber shows the read (its
 * ack status left 'none') and the call has resolved (durably queued).
 * `durableMs`: until the call resolved.
 */
export async function libMarkRead(tag: string, n: number, total = n): Promise<{ ms: number; durableMs: number }> {
  const dbName = `lib-a-${tag}`;
  await deleteDb(dbName);
  const h = open('bob', dbName);
  const subs: Subscription[] = [];
  try {
    await h.client.receiveMessages(makeMessages(tag, total, CONV, 'alice'));
    await idle(h);
    const ids = markedIds(tag, n, total);
    let initial = 0;
    let read = 0;
    let onInitial: () => void = () => undefined;
    let onRead: () => void = () => undefined;
    const allInitial = new Promise<void>((r) => (onInitial = r));
    const allRead = new Promise<void>((r) => (onRead = r));
    for (const id of ids) {
      let first = true;
      let wasRead = false;
      subs.push(
        h.client.readState$(id).subscribe((s) => {
          if (s === null) return;
          if (first && ++initial === n) onInitial();
          first = false;
          if (!wasRead && s.ackStatus !== 'none' && ++read === n) onRead();
          wasRead ||= s.ackStatus !== 'none';
        }),
      );
    }
    await allInitial;
    await idle(h);
    const t0 = performance.now();
    const r = await h.client.markRead(ids);
    const durableMs = performance.now() - t0;
    await allRead;
    const ms = performance.now() - t0;
    if (r.queued !== n) throw new Error(`markRead queued ${r.queued} of ${n}`);
    return { ms, durableMs };
  } finally {
    for (const s of subs) s.unsubscribe();
    await h.close();
    await deleteDb(dbName);
  }
}

/** d. setup: a library database holding a conversation of n messages. */
export async function libColdSeed(tag: string, n: number): Promise<void> {
  const dbName = `lib-d-${tag}`;
  await deleteDb(dbName);
  const h = open('bob', dbName);
  try {
    await h.client.receiveMessages(makeMessages(tag, n, CONV, 'alice'));
    await idle(h);
  } finally {
    await h.close();
  }
}

/** d. new client + worker on the existing database, until messages$ has emitted all n messages. */
export async function libColdRead(tag: string, n: number): Promise<{ ms: number; readyMs: number }> {
  const t0 = performance.now();
  const h = open('bob', `lib-d-${tag}`);
  try {
    let readyMs = 0;
    void firstValueFrom(h.client.syncStatus$).then(() => (readyMs = performance.now() - t0));
    const list = await firstValueFrom(h.client.messages$(CONV, { limit: n }).pipe(filter((l) => l.length === n)));
    const ms = performance.now() - t0;
    if (list.length !== n) throw new Error(`messages$ emitted ${list.length}`);
    return { ms, readyMs };
  } finally {
    await h.close();
  }
}

/**
 * d (info). The same cold start through the shipped entry (worker/index.ts:
 * HttpTransport to the reference server, which then starts its event stream
 * and catch-up in the background), as an app would create it.
 */
export async function libColdReadShipped(tag: string, n: number, token: string): Promise<{ ms: number }> {
  const t0 = performance.now();
  const worker = new Worker(new URL('../../worker/index.ts', import.meta.url), { type: 'module' });
  const client = createReadSyncClient({ worker, userId: 'bob', token, serverUrl: location.origin, dbName: `lib-d-${tag}`, flush: NO_AUTO_FLUSH, environment: false });
  try {
    await firstValueFrom(client.messages$(CONV, { limit: n }).pipe(filter((l) => l.length === n)));
    return { ms: performance.now() - t0 };
  } finally {
    await client.close();
  }
}

/**
 * c. n live readState$ subscriptions on my own messages, then one receipts
 * event with n updates applied in the worker; done when every subscriber has
 * seen its new value. Also counts update posts, frames and long tasks.
 */
export async function libBurst(
  tag: string,
  n: number,
): Promise<{ ms: number; workerMs: number; firstUpdateMs: number; subscribeMs: number; posts: number; maxPostsPerFrame: number; frames: number; longestTaskMs: number }> {
  const dbName = `lib-c-${tag}`;
  await deleteDb(dbName);
  const h = open('me', dbName);
  const subs: Subscription[] = [];
  try {
    const messages = makeMessages(tag, n, CONV, 'me', 5);
    await h.client.receiveMessages(messages);
    await idle(h);
    const meter = new MainThreadMeter();
    const states = new Array<ReadState | null>(n);
    let initial = 0;
    let updated = 0;
    let firstUpdateAt = 0;
    let onInitial: () => void = () => undefined;
    let onUpdated: () => void = () => undefined;
    const allInitial = new Promise<void>((r) => (onInitial = r));
    const allUpdated = new Promise<void>((r) => (onUpdated = r));
    const t0s = performance.now();
    messages.forEach((m, i) => {
      subs.push(
        h.client.readState$(m.id).subscribe((s) => {
          meter.sawDelivery();
          const prev = states[i];
          states[i] = s;
          if (prev === undefined && s !== null && ++initial === n) onInitial();
          if (s !== null && s.readCount === 1 && prev?.readCount !== 1) {
            if (updated === 0) firstUpdateAt = performance.now();
            if (++updated === n) onUpdated();
          }
        }),
      );
    });
    await allInitial;
    const subscribeMs = performance.now() - t0s;
    const now = Date.now();
    await h.extras.benchPrepareReceipts(messages.map((m) => makeReceipt(m, 1, now)));
    await new Promise((r) => setTimeout(r, 100));
    await h.extras.benchPosts();
    meter.begin();
    const t0 = performance.now();
    await h.extras.benchFireReceipts();
    await allUpdated;
    const ms = performance.now() - t0;
    meter.stop();
    // Worker side = fire → the hub's first post of the new values (clocks compared as epoch ms).
    const firstPost = (await h.extras.benchPosts())[0];
    const workerMs = firstPost ? firstPost.at - (performance.timeOrigin + t0) : NaN;
    return { ms, workerMs, firstUpdateMs: firstUpdateAt - t0, subscribeMs, posts: meter.posts, maxPostsPerFrame: meter.maxPostsPerFrame, frames: Math.max(1, meter.frames), longestTaskMs: await meter.longestTask() };
  } finally {
    for (const s of subs) s.unsubscribe();
    await h.close();
    await deleteDb(dbName);
  }
}

/**
 * b. n acks pending in the outbox (queued offline-style: no automatic
 * flush), then one flush to the reference server over real HTTP; timed from
 * the flush call to an empty outbox. Ack requests are counted in the worker.
 */
export async function libFlush(
  tag: string,
  userId: string,
  token: string,
  messages: Message[],
): Promise<{ ms: number; requests: number; bodyBytes: number; acks: number; maxAckBytes: number; fetchMs: number }> {
  const dbName = `lib-b-${tag}`;
  await deleteDb(dbName);
  const h = open(userId, dbName, location.origin, token);
  try {
    // Setup, not timed: the reader's device holds the messages (the start-up catch-up pulls only
    // the newest window of a conversation since issue 11, so they are stored as an app would).
    await idle(h);
    await h.client.receiveMessages(messages);
    await idle(h);
    const r = await h.client.markRead(messages.map((m) => m.id));
    if (r.queued !== messages.length) throw new Error(`markRead queued ${r.queued} of ${messages.length}`);
    await idle(h);
    await new Promise((res) => setTimeout(res, 200));
    await idle(h);
    const before = await h.extras.benchFetchStats();
    // Timed: the flush calls. The check that the outbox is empty (a fresh IndexedDB connection on the page) is not.
    let ms = 0;
    let left = -1;
    for (let i = 0; i < 5 && left !== 0; i++) {
      const t0 = performance.now();
      await h.client.flush();
      ms += performance.now() - t0;
      left = await countRows(dbName, 'outbox');
    }
    if (left !== 0) throw new Error(`outbox still holds ${left} rows after flushing`);
    const after = await h.extras.benchFetchStats();
    return {
      ms,
      requests: after.requests - before.requests,
      bodyBytes: after.bodyBytes - before.bodyBytes,
      acks: after.acks - before.acks,
      maxAckBytes: after.maxAckBytes,
      fetchMs: after.fetchMs - before.fetchMs,
    };
  } finally {
    await h.close();
    await deleteDb(dbName);
  }
}
