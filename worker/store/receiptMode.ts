import * as v from 'valibot';
import { ReceiptModeSchema, type ReceiptMode, type UserSettings } from '../../src/protocol';
import type { ReadSyncDb, SettingsOutboxRow } from '../db/ReadSyncDb';

/**
 * My receipt mode (issue 10.4). The mode this device reads with lives in
 * `meta` and changes at once when the user changes it, offline too; the
 * change waits for the server as ONE outbox row (the last change wins). The
 * server's settings (every pull, the `settings` event) update the local mode,
 * except while a change of mine is queued: mine wins until the server has
 * answered it, and then the server's answer is the mode.
 */

/** Meta key of the receipt mode this device reads with. */
export const META_RECEIPT_MODE = 'receiptMode';
/** The outbox key of my queued settings change. */
export const SETTINGS_KEY = 's:settings';

/** The mode this device reads with (`public` until set or learned). Call inside a transaction over meta, or alone. */
export async function loadReceiptMode(db: ReadSyncDb): Promise<ReceiptMode> {
  const row = await db.meta.get(META_RECEIPT_MODE);
  return v.is(ReceiptModeSchema, row?.value) ? row.value : 'public';
}

/** My queued settings change, if any. */
export async function loadQueuedSettings(db: ReadSyncDb): Promise<SettingsOutboxRow | undefined> {
  const row = await db.outbox.get(SETTINGS_KEY);
  return row?.kind === 'settings' && v.is(ReceiptModeSchema, row.receipts) ? row : undefined;
}

/**
 * The durable half of `setReceiptMode`: in ONE transaction, the local mode
 * becomes `mode` (reads from now on are flagged by it) and the change is
 * queued, replacing any change not sent yet. Always queued, even when the
 * local mode already is `mode`: it is the user's latest word, and another
 * device may have changed the server's since this one last heard.
 */
export async function enqueueReceiptMode(db: ReadSyncDb, mode: ReceiptMode, now: number): Promise<void> {
  await db.transaction('rw', [db.meta, db.outbox], async () => {
    const row: SettingsOutboxRow = { key: SETTINGS_KEY, kind: 'settings', receipts: mode, changedAt: now };
    await Promise.all([db.meta.put({ key: META_RECEIPT_MODE, value: mode }), db.outbox.put(row)]);
  });
}

/**
 * Settings from the server (a pull, a `settings` event): the local mode
 * follows them unless a change of mine is still queued. Returns whether the
 * local mode changed.
 */
export async function applyServerSettings(db: ReadSyncDb, settings: UserSettings): Promise<boolean> {
  return db.transaction('rw', [db.meta, db.outbox], async () => {
    if (await loadQueuedSettings(db)) return false;
    if ((await loadReceiptMode(db)) === settings.receipts) return false;
    await db.meta.put({ key: META_RECEIPT_MODE, value: settings.receipts });
    return true;
  });
}

/**
 * The server answered the change `sent` (with its settings now) or refused it
 * (`settings` undefined). In ONE transaction: the row leaves the outbox unless
 * the user changed the mode again meanwhile (then it stays, to be sent), and
 * an answer becomes the local mode when the row left.
 */
export async function settingsAnswered(db: ReadSyncDb, sent: SettingsOutboxRow, settings: UserSettings | undefined): Promise<void> {
  await db.transaction('rw', [db.meta, db.outbox], async () => {
    const now = await loadQueuedSettings(db);
    if (now && (now.changedAt !== sent.changedAt || now.receipts !== sent.receipts)) return;
    await db.outbox.delete(SETTINGS_KEY);
    if (settings) await db.meta.put({ key: META_RECEIPT_MODE, value: settings.receipts });
  });
}
