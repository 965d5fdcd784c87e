/**
 * The raw ceilings, run inside a worker like the library: plain IndexedDB,
 * plain fetch, plain WebSocket, plain postMessage. Requests are `{ id, op, args }`, replies
 * `{ id, result }` or `{ id, error }`; read states are posted as `{ columns }`, packed as the library packs them.
 */
import type { AckOutboxRow, MessageRow, SendOutboxRow } from '../../worker/db/ReadSyncDb';
import { packUpdates, type PackedReadStates, type ReadState } from '../../src/bridge';
import type { MessageReceipt, ServerEvent } from '../../src/protocol';
import { deleteDb, done, openRawDb, request } from './rawIdb';
import { ACK_KEYS_FROM, ACK_KEYS_TO, ackKey } from '../../worker/db/ackKeys';

interface Scope {
  postMessage(message: unknown): void;
  onmessage: ((ev: MessageEvent) => void) | null;
}
const scope = self as unknown as Scope;

const rowsById = new Map<string, MessageRow>();
const dbs = new Map<string, IDBDatabase>();
let burst: { id: number; value: ReadState }[] = [];
let socket: WebSocket | null = null;

async function db(name: string): Promise<IDBDatabase> {
  let d = dbs.get(name);
  if (!d) {
    d = await openRawDb(name);
    dbs.set(name, d);
  }
  return d;
}

const ops: Record<string, (...args: never[]) => Promise<unknown>> = {
  /** Fresh database holding `rows` (setup, not timed). */
  async seed(name: string, rows: MessageRow[]) {
    dbs.get(name)?.close();
    dbs.delete(name);
    await deleteDb(name);
    const d = await db(name);
    const tx = d.transaction('messages', 'readwrite');
    const store = tx.objectStore('messages');
    for (const r of rows) {
      store.put(r);
      rowsById.set(r.id, r);
    }
    await done(tx);
  },
  /** Ceiling of markRead: one strict read-write transaction putting the updated message rows and one outbox row each. */
  async markRead(name: string, ids: string[], readAt: number, durability: IDBTransactionDurability = 'strict') {
    const d = await db(name);
    const tx = d.transaction(['messages', 'outbox'], 'readwrite', { durability });
    const messages = tx.objectStore('messages');
    const outbox = tx.objectStore('outbox');
    let seq = 0;
    for (const id of ids) {
      const row = rowsById.get(id);
      if (!row) throw new Error(`unknown row ${id}`);
      const ackSeq = ++seq;
      // As readNow: read, its ack queued, out of the unread index.
      const { unread: _unread, ...rest } = row;
      messages.put({ ...rest, readAt, ackStatus: 'pending', ackSeq });
      const ack: AckOutboxRow = { key: ackKey(ackSeq), kind: 'ack', messageId: id, readAt };
      outbox.put(ack);
    }
    await done(tx);
    return ids.length;
  },
  /**
   * Ceiling of markRead until the UI shows it: the same strict transaction,
   * then the marked messages' read states posted to the page in the
   * library's columns (`subIds[i]` is the page's subscription of `ids[i]`).
   */
  async markReadShown(name: string, ids: string[], readAt: number, subIds: number[]) {
    const written = await ops.markRead!(name as never, ids as never, readAt as never);
    const states: ReadState[] = ids.map((id) => {
      const row = rowsById.get(id) as MessageRow;
      return {
        messageId: id,
        convId: row.convId,
        convType: row.convType,
        direction: 'incoming',
        needReadReceipt: row.needReadReceipt,
        status: 'sent',
        readCount: 0,
        unreadCount: 0,
        deliveredCount: 0,
        isPeerRead: false,
        timestamp: readAt,
        ackStatus: 'pending',
        label: 'Read',
      };
    });
    scope.postMessage({ columns: toColumns(subIds, states) });
    return written;
  },
  /** Ceiling of a cold start: open the database in this fresh worker and getAll one conversation from the [convId+pos] index. */
  async coldRead(name: string, convId: string) {
    const d = await openRawDb(name);
    const range = IDBKeyRange.bound([convId, -Infinity], [convId, Infinity]);
    const rows = await request(d.transaction('messages', 'readonly').objectStore('messages').index('[convId+pos]').getAll(range));
    d.close();
    return rows;
  },
  /** Ceiling of a flush: post the same batches one after the other, reading each JSON reply. */
  async fetchLoop(url: string, token: string, bodies: string[]) {
    let bytes = 0;
    for (const body of bodies) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
      if (!res.ok) throw new Error(`raw fetch: HTTP ${res.status} ${await res.text()}`);
      await res.json();
      bytes += body.length;
    }
    return { requests: bodies.length, bytes };
  },
  /** Setup of the "durable" flush variant: n outbox rows (not timed). */
  async seedOutbox(name: string, ids: string[]) {
    dbs.get(name)?.close();
    dbs.delete(name);
    await deleteDb(name);
    const d = await db(name);
    const tx = d.transaction('outbox', 'readwrite');
    const now = Date.now();
    for (const [i, id] of ids.entries()) {
      const row: AckOutboxRow = { key: ackKey(i + 1), kind: 'ack', messageId: id, readAt: now };
      tx.objectStore('outbox').put(row);
    }
    await done(tx);
  },
  /**
   * What a flush needs at least to stay durable: per batch, read it from the
   * outbox with one getAll over a key range, post it, and delete it with one
   * key-range delete. Information only (not a bar's ceiling).
   */
  async fetchLoopDurable(name: string, url: string, token: string, batchIds: string[], batch: number) {
    const d = await db(name);
    for (const batchId of batchIds) {
      const rows = await request(d.transaction('outbox', 'readonly').objectStore('outbox').getAll(IDBKeyRange.bound(ACK_KEYS_FROM, ACK_KEYS_TO), batch));
      const acks = (rows as AckOutboxRow[]).map((r) => ({ m: r.messageId, t: r.readAt }));
      const body = JSON.stringify({ type: 'ack-batch', batchId, acks });
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
      if (!res.ok) throw new Error(`raw fetch: HTTP ${res.status} ${await res.text()}`);
      await res.json();
      const first = (rows[0] as AckOutboxRow).key;
      const last = (rows[rows.length - 1] as AckOutboxRow).key;
      const tx = d.transaction('outbox', 'readwrite', { durability: 'strict' });
      tx.objectStore('outbox').delete(IDBKeyRange.bound(first, last));
      await done(tx);
    }
    return request(d.transaction('outbox', 'readonly').objectStore('outbox').count());
  },
  /**
   * Ceiling of a bulk send: one strict transaction putting the pending
   * message rows and their outbox rows, then the same POST batches one after
   * the other, reading each JSON reply.
   */
  async bulkSend(name: string, rows: MessageRow[], outbox: SendOutboxRow[], url: string, token: string, bodies: string[]) {
    const d = await db(name);
    const tx = d.transaction(['messages', 'outbox'], 'readwrite', { durability: 'strict' });
    for (const r of rows) tx.objectStore('messages').put(r);
    for (const o of outbox) tx.objectStore('outbox').put(o);
    await done(tx);
    for (const body of bodies) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
      if (!res.ok) throw new Error(`raw fetch: HTTP ${res.status} ${await res.text()}`);
      await res.json();
    }
    return rows.length;
  },
  /** Prepares the burst of workload c (not timed). */
  async prepareBurst(updates: { id: number; value: ReadState }[]) {
    burst = updates;
  },
  /** Ceiling of the injected receipt burst: the same read states, in the library's columns, in one postMessage. */
  async fireBurst() {
    scope.postMessage({ columns: toColumns(burst.map((u) => u.id), burst.map((u) => u.value)) });
  },
  /**
   * Ceiling of the burst from the server (setup, not timed): a fresh
   * database holding `rows`, and this worker's own event stream (WebSocket)
   * to the reference server, open once its hello arrived. From then on every
   * `receipts` frame is parsed, written to the receipts store with the
   * cursor in one strict transaction, and its read states posted to the page
   * in the library's columns (one post per frame) once committed.
   */
  async socketOpen(name: string, rows: MessageRow[], url: string) {
    await ops.seed!(name as never, rows as never);
    const d = await db(name);
    const subId = new Map<string, number>(rows.map((r, i) => [r.id, i + 1]));
    socket?.close();
    const ws = (socket = new WebSocket(url));
    await new Promise<void>((resolve, reject) => {
      ws.onerror = () => reject(new Error('raw socket failed'));
      ws.onmessage = (ev: MessageEvent) => {
        const event = JSON.parse(ev.data as string) as ServerEvent;
        if (event.type === 'hello') return resolve();
        if (event.type !== 'receipts') return;
        const tx = d.transaction(['receipts', 'meta'], 'readwrite', { durability: 'strict' });
        const store = tx.objectStore('receipts');
        for (const r of event.receipts) store.put({ convId: r.convId, convType: r.convType, messageId: r.messageId, readCount: r.readCount, unreadCount: r.unreadCount, isPeerRead: r.isPeerRead, timestamp: r.timestamp, deliveredCount: r.deliveredCount ?? r.readCount });
        if (event.cursor !== undefined) tx.objectStore('meta').put({ key: 'receiptCursor', value: event.cursor });
        void done(tx).then(() => {
          const ids = event.receipts.map((r) => subId.get(r.messageId) ?? 0);
          scope.postMessage({ columns: toColumns(ids, event.receipts.map(toState)) });
        });
      };
    });
  },
  async socketClose() {
    socket?.close();
    socket = null;
  },
};

/** The read state a subscriber of one of my messages sees for a receipt (as the library shows it). */
function toState(r: MessageReceipt): ReadState {
  return {
    messageId: r.messageId,
    convId: r.convId,
    convType: r.convType,
    direction: 'outgoing',
    needReadReceipt: true,
    status: 'sent',
    readCount: r.readCount,
    unreadCount: r.unreadCount,
    deliveredCount: r.deliveredCount ?? r.readCount,
    isPeerRead: r.isPeerRead,
    timestamp: r.timestamp,
    ackStatus: 'none',
    label: `${r.readCount} read · ${r.unreadCount} unread`,
  };
}

/** Read states packed as the library's hub packs them (`packUpdates`: typed arrays, not objects), so both sides post the same bytes. */
function toColumns(ids: number[], states: ReadState[]): PackedReadStates {
  return packUpdates(
    states.map((value, i) => ({ id: ids[i] as number, value })),
    () => true,
  ).packed as PackedReadStates;
}

scope.onmessage = (ev: MessageEvent) => {
  const { id, op, args } = ev.data as { id: number; op: string; args: unknown[] };
  const fn = ops[op];
  if (!fn) {
    scope.postMessage({ id, error: `unknown op ${op}` });
    return;
  }
  (fn as (...a: unknown[]) => Promise<unknown>)(...args).then(
    (result) => scope.postMessage({ id, result }),
    (err: unknown) => scope.postMessage({ id, error: String((err as Error)?.stack ?? err) }),
  );
};
