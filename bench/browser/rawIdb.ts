/**
 * Plain IndexedDB helpers for the raw ceilings: the same object stores and
 * indexes as ReadSyncDb v3 (the sparse `[convId+unread]` index of unread
 * counts included) where the ceilings write (messages, outbox,
 * receipts, meta), so every write maintains the same indexes; no
 * library in between.
 */
export function openRawDb(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      const messages = db.createObjectStore('messages', { keyPath: 'id' });
      messages.createIndex('[convId+pos]', ['convId', 'pos']);
      messages.createIndex('ackStatus', 'ackStatus');
      messages.createIndex('status', 'status');
      messages.createIndex('ownWithReceipts', 'ownWithReceipts');
      messages.createIndex('[convId+unread]', ['convId', 'unread']);
      const outbox = db.createObjectStore('outbox', { keyPath: 'key' });
      outbox.createIndex('[kind+enqueuedAt]', ['kind', 'enqueuedAt']);
      const receipts = db.createObjectStore('receipts', { keyPath: 'messageId' });
      receipts.createIndex('convId', 'convId');
      db.createObjectStore('meta', { keyPath: 'key' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('open failed'));
  });
}

export function deleteDb(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error ?? new Error('delete failed'));
    req.onblocked = () => resolve();
  });
}

/** Resolves when the transaction has committed. */
export function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
  });
}

export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('request failed'));
  });
}

/** Number of rows in a store (used to check that a flush emptied the outbox). */
export async function countRows(dbName: string, store: string): Promise<number> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(dbName);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('open failed'));
  });
  try {
    if (!db.objectStoreNames.contains(store)) return -1;
    return await request(db.transaction(store, 'readonly').objectStore(store).count());
  } finally {
    db.close();
  }
}
