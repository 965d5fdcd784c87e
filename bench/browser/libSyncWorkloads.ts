/**
 * The library side of the message-sync workloads (g. bulk send, h. opening a
 * long conversation), over the real HttpTransport to the reference server.
 */
import { filter, firstValueFrom } from 'rxjs';
import { createReadSyncClient, type ReadSyncClient } from '../../src/client';
import type { SendMessageInput } from '../../src/bridge';
import { deleteDb } from './rawIdb';

function open(userId: string, dbName: string, token: string): { client: ReadSyncClient; close(): Promise<void> } {
  const worker = new Worker(new URL('./libWorker.ts', import.meta.url), { type: 'module' });
  worker.addEventListener('error', (e) => console.error(`bench worker error: ${e.message}`));
  // Default flush options: the flusher runs as it does in an app (50 ms after an enqueue).
  const client = createReadSyncClient({ worker, userId, token, serverUrl: location.origin, dbName, environment: false });
  return { client, close: () => client.close() };
}

/** `n` messages for `convId`, ids of newMessageId()'s length (16 chars). */
function inputs(tag: string, convId: string, n: number): SendMessageInput[] {
  return Array.from({ length: n }, (_, i) => ({ convId, id: `${tag}_${String(i).padStart(15 - tag.length, '0')}`, text: `bulk message number ${i}` }));
}

/**
 * g. `n` sends from the page (`n` concurrent sendMessage calls, or one
 * sendMessages call when `batch`), timed from the first call until the
 * worker has every message confirmed by the server (pendingMessages 0 after
 * every call resolved). `resolvedMs`: until every call resolved (durable).
 */
export async function libBulkSend(
  tag: string,
  userId: string,
  token: string,
  convId: string,
  n: number,
  batch: boolean,
): Promise<{ ms: number; resolvedMs: number; failed: number }> {
  const dbName = `lib-g-${tag}`;
  await deleteDb(dbName);
  const h = open(userId, dbName, token);
  try {
    // Setup (not timed): the worker knows the conversation, and has nothing pending.
    await firstValueFrom(h.client.conversations$.pipe(filter((cs) => cs.some((c) => c.id === convId))));
    await firstValueFrom(h.client.syncStatus$.pipe(filter((s) => s.connection === 'online' && !s.flushing && s.pendingMessages === 0)));
    const list = inputs(tag, convId, n);
    const api = h.client as ReadSyncClient & { sendMessages?: (l: SendMessageInput[]) => Promise<unknown[]> };
    if (batch && typeof api.sendMessages !== 'function') throw new Error('this version has no sendMessages');
    const t0 = performance.now();
    await (batch ? api.sendMessages!(list) : Promise.all(list.map((m) => h.client.sendMessage(m))));
    const resolvedMs = performance.now() - t0;
    const s = await firstValueFrom(h.client.syncStatus$.pipe(filter((x) => x.pendingMessages === 0)));
    const ms = performance.now() - t0;
    return { ms, resolvedMs, failed: s.failedMessages };
  } finally {
    await h.close();
    await deleteDb(dbName);
  }
}

/**
 * h. A fresh install (new worker, empty database) of a member of `convId`:
 * timed from creating the client until `messages$` shows the newest message.
 */
export async function libOpenConversation(tag: string, userId: string, token: string, convId: string, newestId: string): Promise<{ ms: number; shown: number }> {
  const dbName = `lib-h-${tag}`;
  await deleteDb(dbName);
  const t0 = performance.now();
  const h = open(userId, dbName, token);
  try {
    const list = await firstValueFrom(h.client.messages$(convId).pipe(filter((l) => l[l.length - 1]?.id === newestId)));
    return { ms: performance.now() - t0, shown: list.length };
  } finally {
    await h.close();
    await deleteDb(dbName);
  }
}
