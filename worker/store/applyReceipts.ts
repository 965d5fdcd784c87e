import type { MessageReceipt } from '../../src/protocol';
import type { ReadSyncDb, ReceiptRow } from '../db/ReadSyncDb';
import { deliveredOf, isReceiptRow } from './readState';
import { readMany } from './readMany';
import { bulkPutPrecise } from './storageErrors';
import { META_RECEIPT_CURSOR } from './meta';

/**
 * Merges a receipt update into the stored state, moving only forward:
 * `readCount`, `deliveredCount` and `timestamp` never decrease,
 * `unreadCount` never increases, `isPeerRead` never goes back to false, and
 * `deliveredCount` is never below `readCount` (see `deliveredOf`). Returns
 * null when the update adds nothing (a duplicate or an older state arriving
 * late). The result always carries `deliveredCount`.
 */
export function mergeReceipt(old: ReceiptRow | undefined, next: MessageReceipt): ReceiptRow | null {
  if (!old) return { ...next, deliveredCount: deliveredOf(next) };
  const readCount = Math.max(old.readCount, next.readCount);
  const was = deliveredOf(old);
  const merged: ReceiptRow = {
    convId: old.convId,
    convType: old.convType,
    messageId: old.messageId,
    readCount,
    unreadCount: Math.min(old.unreadCount, next.unreadCount),
    isPeerRead: old.isPeerRead || next.isPeerRead,
    timestamp: Math.max(old.timestamp, next.timestamp),
    deliveredCount: Math.max(was, deliveredOf(next), readCount),
  };
  const changed =
    merged.readCount !== old.readCount ||
    merged.unreadCount !== old.unreadCount ||
    merged.isPeerRead !== old.isPeerRead ||
    merged.timestamp !== old.timestamp ||
    // A row stored before deliveries existed is not rewritten just to spell out what it implies.
    merged.deliveredCount !== was;
  return changed ? merged : null;
}

/**
 * Applies receipt states from the network in one transaction, monotonically
 * (see `mergeReceipt`). Callers pass receipts they validated (the engine and
 * the receipt queries parse every payload first). Receipts come only from my
 * own event stream and queries, where the server checked the messages are
 * mine. When `cursor` is given (a `receipts` event), it is stored in the same
 * transaction if it moves forward, so a resumed stream
 * never skips an update that was not stored. Returns the rows that changed.
 */
export async function applyReceipts(db: ReadSyncDb, receipts: readonly MessageReceipt[], cursor?: number): Promise<ReceiptRow[]> {
  const byId = new Map<string, MessageReceipt>();
  for (const r of receipts) {
    const prev = byId.get(r.messageId);
    byId.set(r.messageId, prev ? (mergeReceipt(prev, r) ?? prev) : r);
  }
  if (byId.size === 0 && cursor === undefined) return [];
  const ids = [...byId.keys()];
  return db.transaction('rw', [db.receipts, db.meta], async () => {
    const olds = await readMany(db.receipts, ids);
    const changed: ReceiptRow[] = [];
    ids.forEach((id, i) => {
      const old = olds[i];
      const merged = mergeReceipt(old !== undefined && isReceiptRow(old) ? old : undefined, byId.get(id) as MessageReceipt);
      if (merged) changed.push(merged);
    });
    await bulkPutPrecise(db.receipts, changed);
    if (cursor !== undefined) {
      const stored = await db.meta.get(META_RECEIPT_CURSOR);
      if (typeof stored?.value !== 'number' || stored.value < cursor) await db.meta.put({ key: META_RECEIPT_CURSOR, value: cursor });
    }
    return changed;
  });
}
