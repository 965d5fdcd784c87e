import * as Comlink from 'comlink';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { installErrorTransfer, unpackUpdates, type AckStatus, type Query, type SubscriptionUpdate, type UpdateBatch, type WorkerApi } from '../../src/bridge';
import { SyncCore } from '../../src/server/core/SyncCore';
import { MemoryStore } from '../../src/server/store/MemoryStore';
import { ReadSyncDb, type MessageRow } from '../../worker/db/ReadSyncDb';
import type { Message } from '../../src/protocol';
import { ReadSyncWorker, type ReadSyncWorkerOptions } from '../../worker/ReadSyncWorker';
import { MemoryTransport } from '../../worker/transport/MemoryTransport';
import type { Transport } from '../../worker/transport/Transport';
import { loadQueuedAcks } from '../../worker/store/queuedAcks';
import { effectiveAckStatus } from '../../worker/store/readState';

installErrorTransfer();

/** A backend with the server's rules over an in-memory store. */
export function newCore(options: ConstructorParameters<typeof SyncCore>[1] = {}): SyncCore {
  return new SyncCore(new MemoryStore(), { secret: 'test-secret', ...options });
}

/** A valid message id made from a number. */
export const mid = (n: number): string => `msg${String(n).padStart(8, '0')}`;

/** One user's worker, reached through Comlink over a MessageChannel, with a recording sink. */
export interface Client<T extends Transport = MemoryTransport> {
  userId: string;
  api: Comlink.Remote<WorkerApi>;
  worker: ReadSyncWorker;
  transport: T;
  db: ReadSyncDb;
  idb: IDBFactory;
  /** Latest value per subscription id (errors under `errors`). */
  values: Map<number, unknown>;
  errors: Map<number, { code: string; message: string }>;
  /** Every batch the sink received. */
  batches: SubscriptionUpdate[][];
  /** Subscribes one query; returns its id. */
  sub(query: Query): Promise<number>;
  /** Polls until `predicate` holds (the worker posts asynchronously). */
  until<T>(read: () => T | Promise<T>, predicate: (v: T) => boolean, what?: string): Promise<T>;
  close(): Promise<void>;
}

let nextSubId = 1;

/**
 * Opens a worker for `userId` on a (fresh by default) fake IndexedDB, started and attached.
 * The transport defaults to a MemoryTransport on `backend`; pass an HttpTransport to go over a real server.
 */
export async function openClient<T extends Transport = MemoryTransport>(
  backend: SyncCore,
  userId: string,
  opts: { idb?: IDBFactory; transport?: T; worker?: Partial<ReadSyncWorkerOptions> } = {},
): Promise<Client<T>> {
  const idb = opts.idb ?? new IDBFactory();
  const db = new ReadSyncDb(`readsync-${userId}`, { indexedDB: idb, IDBKeyRange });
  const transport = opts.transport ?? (new MemoryTransport(backend, userId) as Transport as T);
  const worker = new ReadSyncWorker({ db, transport, userId, flush: { debounceMs: 0 }, ...opts.worker });
  await worker.start();
  await worker.engine.idle();
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(worker, port2);
  const api = Comlink.wrap<WorkerApi>(port1);
  const values = new Map<number, unknown>();
  const errors = new Map<number, { code: string; message: string }>();
  const batches: SubscriptionUpdate[][] = [];
  await api.attach(
    Comlink.proxy((packed: UpdateBatch) => {
      const batch = unpackUpdates(packed);
      batches.push(batch);
      for (const u of batch) {
        if (u.error) errors.set(u.id, u.error);
        else values.set(u.id, u.value);
      }
    }),
  );
  let closed = false;
  const client: Client<T> = {
    userId,
    api,
    worker,
    transport,
    db,
    idb,
    values,
    errors,
    batches,
    async sub(query) {
      const id = nextSubId++;
      await api.subscribe([{ id, query }]);
      return id;
    },
    until: (read, predicate, what) => until(read, predicate, what),
    async close() {
      if (closed) return;
      closed = true;
      await api.close().catch(() => undefined);
      api[Comlink.releaseProxy]();
      port1.close();
      port2.close();
    },
  };
  return client;
}

/**
 * Polls `read` until `predicate` holds, yielding to timers between tries. Gives
 * up after 10 s (generous for loaded CI machines; only a failing test waits that long).
 */
export async function until<T>(read: () => T | Promise<T>, predicate: (v: T) => boolean, what = 'condition'): Promise<T> {
  const deadline = Date.now() + 10_000;
  let last: T;
  for (;;) {
    last = await read();
    if (predicate(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The wire form of a stored, sent message (to hand it to another user's worker via receiveMessages). */
export function toWire(row: MessageRow | undefined): Message {
  if (!row || row.seq === null || row.sentAt === null || row.audienceCount === null) throw new Error('not a sent message');
  const { id, convId, convType, senderId, text, needReadReceipt, seq, sentAt, audienceCount } = row;
  return { id, convId, convType, senderId, text, needReadReceipt, seq, sentAt, audienceCount };
}

/**
 * The ack status a user sees for each message (what `readState$` shows):
 * the stored one, with 'pending' turned 'sent' once the ack left the outbox.
 * undefined for a message not stored.
 */
export async function ackStatuses(db: ReadSyncDb, ids: readonly string[]): Promise<(AckStatus | undefined)[]> {
  return db.transaction('r', [db.messages, db.outbox], async () => {
    const rows = await db.messages.bulkGet([...ids]);
    const queued = await loadQueuedAcks(db, rows.filter((r): r is MessageRow => r !== undefined));
    return rows.map((r) => (r ? effectiveAckStatus(r, queued.get(r.id)) : undefined));
  });
}

/** `ackStatuses` of one message. */
export async function ackStatus(db: ReadSyncDb, id: string): Promise<AckStatus | undefined> {
  return (await ackStatuses(db, [id]))[0];
}
