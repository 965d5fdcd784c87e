/** The raw ceilings, as the page runs them. Every function returns its timing in ms plus figures. */
import { makeMessages, makeReadState, makeReceipt, markedIds, toRow } from './fixtures';
import { MainThreadMeter } from './MainThreadMeter';
import { RawWorker } from './RawWorker';
import { deleteDb } from './rawIdb';
import { sendNow } from '../../worker/store/enqueueMessage';
import type { OutgoingMessage } from '../../src/protocol';
import type { MessageRow, SendOutboxRow } from '../../worker/db/ReadSyncDb';

const CONV = 'g-bench';

/**
 * a. In a database of `total` messages, `n` of them (the middle ones) are
 * shown on the page (n plain callbacks); one strict transaction puts their
 * updated rows and n outbox rows, then the worker posts their read states in
 * the library's packing. Timed from the page's request until every callback
 * has run. `durableMs`: until the commit (the reply), for comparison.
 */
export async function rawMarkRead(tag: string, n: number, total = n): Promise<{ ms: number; durableMs: number }> {
  const w = new RawWorker();
  try {
    const dbName = `raw-a-${tag}`;
    await w.call('seed', dbName, makeMessages(tag, total, CONV, 'alice').map((m) => toRow(m, 'bob')));
    const ids = markedIds(tag, n, total);
    let seen = 0;
    let finish: () => void = () => undefined;
    const shown = new Promise<void>((r) => (finish = r));
    const values = new Array<unknown>(n + 1);
    w.onState = (id, value) => {
      if (values[id] === undefined && ++seen === n) finish();
      values[id] = value;
    };
    const subIds = ids.map((_, i) => i + 1);
    const t0 = performance.now();
    const written = await w.call<number>('markReadShown', dbName, ids, Date.now(), subIds);
    const durableMs = performance.now() - t0;
    await shown;
    const ms = performance.now() - t0;
    if (written !== n) throw new Error(`raw markRead wrote ${written}`);
    return { ms, durableMs };
  } finally {
    w.terminate();
  }
}

/** d. setup: a raw database with n rows of one conversation. */
export async function rawColdSeed(tag: string, n: number): Promise<void> {
  const w = new RawWorker();
  try {
    await w.call('seed', `raw-d-${tag}`, makeMessages(tag, n, CONV, 'alice').map((m) => toRow(m, 'bob')));
  } finally {
    w.terminate();
  }
}

/** d. a fresh worker opens the database and getAll()s the conversation's rows from its index, posting them to the page. */
export async function rawColdRead(tag: string, n: number): Promise<{ ms: number }> {
  const t0 = performance.now();
  const w = new RawWorker();
  try {
    const rows = await w.call<unknown[]>('coldRead', `raw-d-${tag}`, CONV);
    const ms = performance.now() - t0;
    if (rows.length !== n) throw new Error(`raw cold read got ${rows.length} rows`);
    return { ms };
  } finally {
    w.terminate();
  }
}

/** b. the same batches posted one after the other from a worker with plain fetch. */
export async function rawFlush(url: string, token: string, bodies: string[]): Promise<{ ms: number; requests: number; bytes: number }> {
  const w = new RawWorker();
  try {
    await w.call('fetchLoop', url, token, []); // module loaded, worker warm
    const t0 = performance.now();
    const r = await w.call<{ requests: number; bytes: number }>('fetchLoop', url, token, bodies);
    return { ms: performance.now() - t0, ...r };
  } finally {
    w.terminate();
  }
}

/** b (info). The least a durable flush does: getAll a batch from the outbox, post it, range-delete it; until the outbox is empty. */
export async function rawFlushDurable(tag: string, url: string, token: string, ids: string[], batch: number): Promise<{ ms: number }> {
  const w = new RawWorker();
  const dbName = `raw-b-${tag}`;
  try {
    await w.call('seedOutbox', dbName, ids);
    const batchIds = Array.from({ length: Math.ceil(ids.length / batch) }, (_, i) => `rawd-${tag}-${i}`);
    const t0 = performance.now();
    const left = await w.call<number>('fetchLoopDurable', dbName, url, token, batchIds, batch);
    const ms = performance.now() - t0;
    if (left !== 0) throw new Error(`durable raw flush left ${left} rows`);
    return { ms };
  } finally {
    w.terminate();
    await deleteDb(dbName);
  }
}

/** c (injected, info). n plain callbacks on the page; the worker posts n read states in the library's packing in one message; done when every callback has run. */
export async function rawBurst(tag: string, n: number): Promise<{ ms: number; posts: number; maxPostsPerFrame: number; frames: number; longestTaskMs: number }> {
  const w = new RawWorker();
  try {
    const messages = makeMessages(tag, n, CONV, 'me', 5);
    const now = Date.now();
    await w.call(
      'prepareBurst',
      messages.map((m, i) => ({ id: i + 1, value: makeReadState(m, makeReceipt(m, 1, now)) })),
    );
    const values = new Array<unknown>(n + 1);
    let seen = 0;
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((r) => (finish = r));
    const meter = new MainThreadMeter();
    const subscribers = new Map<number, (v: unknown) => void>();
    for (let i = 1; i <= n; i++) {
      subscribers.set(i, (v) => {
        if (values[i] === undefined) seen++;
        values[i] = v;
        if (seen === n) finish();
      });
    }
    w.onPost = () => meter.sawDelivery();
    w.onState = (id, value) => subscribers.get(id)?.(value);
    await new Promise((r) => setTimeout(r, 50));
    meter.begin();
    const t0 = performance.now();
    await w.call('fireBurst');
    await finished;
    const ms = performance.now() - t0;
    meter.stop();
    return { ms, posts: meter.posts, maxPostsPerFrame: meter.maxPostsPerFrame, frames: Math.max(1, meter.frames), longestTaskMs: await meter.longestTask() };
  } finally {
    w.terminate();
  }
}

/** g. the raw ceiling of a bulk send: put the rows and their outbox rows in one strict transaction, then POST the batches in turn. */
export async function rawBulkSend(tag: string, url: string, token: string, convId: string, userId: string, bodies: string[]): Promise<{ ms: number; startedAt: number }> {
  const w = new RawWorker();
  const dbName = `raw-g-${tag}`;
  try {
    await deleteDb(dbName);
    const now = Date.now();
    const messages = bodies.flatMap((b) => (JSON.parse(b) as { messages: OutgoingMessage[] }).messages);
    const rows: MessageRow[] = [];
    const outbox: SendOutboxRow[] = [];
    messages.forEach((out, i) => {
      const [row, queued] = sendNow({ ...out, convId }, 'group', userId, now + i);
      rows.push(row);
      outbox.push(queued);
    });
    const startedAt = Date.now();
    const t0 = performance.now();
    const written = await w.call<number>('bulkSend', dbName, rows, outbox, url, token, bodies);
    const ms = performance.now() - t0;
    if (written !== messages.length) throw new Error(`raw bulk send wrote ${written}`);
    return { ms, startedAt };
  } finally {
    w.terminate();
    await deleteDb(dbName);
  }
}
