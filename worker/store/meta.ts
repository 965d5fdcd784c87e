import * as v from 'valibot';
import { ServerConfigSchema, type ServerConfig } from '../../src/protocol';
import type { ReadSyncDb } from '../db/ReadSyncDb';

/** Meta key of the cached server configuration. */
export const META_CONFIG = 'config';
/** Meta key of the resume cursor of the receipt event stream. */
export const META_RECEIPT_CURSOR = 'receiptCursor';
/** Meta key of the user the database belongs to. */
export const META_USER = 'userId';

/** The cached server configuration, or null when unknown or unreadable. */
export async function loadConfig(db: ReadSyncDb): Promise<ServerConfig | null> {
  const row = await db.meta.get(META_CONFIG);
  const r = v.safeParse(ServerConfigSchema, row?.value);
  return r.success ? r.output : null;
}

/** Caches the server configuration. */
export async function saveConfig(db: ReadSyncDb, config: ServerConfig): Promise<void> {
  await db.meta.put({ key: META_CONFIG, value: config });
}

/** The stored receipt cursor, or null before the first receipts event. */
export async function loadReceiptCursor(db: ReadSyncDb): Promise<number | null> {
  const row = await db.meta.get(META_RECEIPT_CURSOR);
  return typeof row?.value === 'number' && Number.isInteger(row.value) && row.value >= 0 ? row.value : null;
}
