/**
 * c. The receipt burst as users get it: another user's acks go through the
 * reference server, whose receipt events reach this page's worker over the
 * WebSocket. The runner (Node) posts the acks; the page only opens one side,
 * arms the meter, and reports when every subscriber showed its update.
 *
 * Library: `readState$` per message through the public client, the worker on
 * the real HttpTransport (its own event stream). Raw ceiling: a plain worker
 * with its own WebSocket that writes each frame's receipts to IndexedDB and
 * posts the read states in the library's packing (rawCeilingWorker.ts).
 */
import { filter, firstValueFrom, type Subscription } from 'rxjs';
import { createReadSyncClient, type ReadSyncClient } from '../../src/client';
import type { ReadState } from '../../src/bridge';
import type { Message } from '../../src/protocol';
import type { MessageRow } from '../../worker/db/ReadSyncDb';
import { wrap } from 'comlink';
import type { BenchExtras } from './libWorker';
import { MainThreadMeter } from './MainThreadMeter';
import { RawWorker } from './RawWorker';
import { deleteDb } from './rawIdb';

/** One open side: its subscribers' last read counts, and how to close it. */
interface Side {
  dbName: string;
  counts: Int32Array;
  target: number;
  updated: number;
  firstAt: number;
  lastAt: number;
  meter: MainThreadMeter | null;
  done: () => void;
  finished: Promise<void>;
  extras?: BenchExtras;
  close(): Promise<void>;
}

let side: Side | null = null;

function newSide(dbName: string, n: number, close: () => Promise<void>): Side {
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  return { dbName, counts: new Int32Array(n).fill(-1), target: Infinity, updated: 0, firstAt: 0, lastAt: 0, meter: null, done, finished, close };
}

/** A subscriber's callback: counts how many reached the armed read count, and when. */
function saw(s: Side, i: number, readCount: number): void {
  s.meter?.sawDelivery();
  const prev = s.counts[i] as number;
  s.counts[i] = readCount;
  if (readCount >= s.target && prev < s.target) {
    const now = Date.now();
    if (s.updated === 0) s.firstAt = now;
    if (++s.updated === s.counts.length) {
      s.lastAt = now;
      s.done();
    }
  }
}

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Library side (setup, not timed): `userId`'s worker holding its n messages, n readState$ subscriptions, all showing their first (unread) value. */
export async function libSocketBurstOpen(tag: string, userId: string, token: string, convId: string, messages: Message[]): Promise<{ subscribeMs: number }> {
  const ids = messages.map((m) => m.id);
  await socketBurstClose();
  const dbName = `lib-cs-${tag}`;
  await deleteDb(dbName);
  const worker = new Worker(new URL('./libWorker.ts', import.meta.url), { type: 'module' });
  worker.addEventListener('error', (e) => console.error(`bench worker error: ${e.message}`));
  const client: ReadSyncClient = createReadSyncClient({ worker, userId, token, serverUrl: location.origin, dbName, environment: false });
  const extras = wrap<BenchExtras>(worker);
  const subs: Subscription[] = [];
  const s = newSide(dbName, ids.length, async () => {
    for (const x of subs) x.unsubscribe();
    await client.close();
    await deleteDb(dbName);
  });
  s.extras = extras as unknown as BenchExtras;
  side = s;
  await firstValueFrom(client.syncStatus$.pipe(filter((st) => st.connection === 'online')));
  // The sender's device holds the messages it sent (a fresh install pulls only the newest window):
  // stored the way an app stores messages from its own channel, as the raw side seeds its rows.
  await client.receiveMessages(messages);
  const t0 = performance.now();
  ids.forEach((id, i) => subs.push(client.readState$(id).subscribe((st: ReadState | null) => st && saw(s, i, st.readCount))));
  await until(() => s.counts.every((c) => c >= 0), `first values (${s.counts.filter((c) => c >= 0).length} of ${ids.length})`, 180_000);
  const subscribeMs = performance.now() - t0;
  await extras.benchIdle();
  await extras.benchPosts();
  return { subscribeMs };
}

/** Raw side (setup, not timed): a plain worker with the same message rows and its own event stream, n plain callbacks. */
export async function rawSocketBurstOpen(tag: string, token: string, rows: MessageRow[]): Promise<void> {
  await socketBurstClose();
  const dbName = `raw-cs-${tag}`;
  const w = new RawWorker();
  const s = newSide(dbName, rows.length, async () => {
    await w.call('socketClose').catch(() => undefined);
    w.terminate();
    await deleteDb(dbName);
  });
  s.counts.fill(0);
  side = s;
  w.onPost = () => s.meter?.sawDelivery();
  w.onState = (id, value) => saw(s, id - 1, value.readCount);
  const url = `${location.origin.replace(/^http/, 'ws')}/v1/events?token=${encodeURIComponent(token)}`;
  await w.call('socketOpen', dbName, rows, url);
}

/** Starts watching: from now, a subscriber counts once it shows `readCount`. */
export async function socketBurstArm(readCount: number): Promise<void> {
  const s = side;
  if (!s) throw new Error('no side open');
  s.target = readCount;
  s.meter = new MainThreadMeter();
  s.meter.begin();
}

/** Resolves once every subscriber showed the armed read count: epoch ms of the first and the last, and what the main thread saw. */
export async function socketBurstWait(): Promise<{ firstAt: number; lastAt: number; posts: number; maxPostsPerFrame: number; frames: number; longestTaskMs: number; workerPosts: number }> {
  const s = side;
  if (!s?.meter) throw new Error('not armed');
  await s.finished;
  s.meter.stop();
  const longestTaskMs = await s.meter.longestTask();
  const workerPosts = s.extras ? (await s.extras.benchPosts()).length : NaN;
  return { firstAt: s.firstAt, lastAt: s.lastAt, posts: s.meter.posts, maxPostsPerFrame: s.meter.maxPostsPerFrame, frames: Math.max(1, s.meter.frames), longestTaskMs, workerPosts };
}

export async function socketBurstClose(): Promise<void> {
  const s = side;
  side = null;
  await s?.close();
}
