import Dexie from 'dexie';
import * as v from 'valibot';
import { ConversationSchema, type Conversation } from '../../src/protocol';
import type { LocalMessage, SyncStatus } from '../../src/bridge';
import type { ReadSyncDb } from '../db/ReadSyncDb';
import { isMessageRow, toLocalMessage } from '../store/readState';

/** The latest `limit` messages of a conversation, oldest first. Damaged rows are skipped. */
export async function loadMessages(db: ReadSyncDb, convId: string, limit: number): Promise<LocalMessage[]> {
  const rows = await db.messages
    .where('[convId+pos]')
    .between([convId, Dexie.minKey], [convId, Dexie.maxKey])
    .reverse()
    .limit(limit)
    .toArray();
  const out: LocalMessage[] = [];
  for (let i = rows.length - 1; i >= 0; i--) {
    const row: unknown = rows[i];
    if (isMessageRow(row)) out.push(toLocalMessage(row));
  }
  return out;
}

/** Every stored conversation, without storage-only fields. Damaged rows are skipped. */
export async function loadConversations(db: ReadSyncDb): Promise<Conversation[]> {
  const rows = await db.conversations.toArray();
  const out: Conversation[] = [];
  for (const row of rows) {
    const r = v.safeParse(ConversationSchema, row);
    if (r.success) out.push(r.output);
  }
  return out;
}

/** The counts of SyncStatus, each one index count. */
export type SyncCounts = Pick<SyncStatus, 'pendingAcks' | 'pendingMessages' | 'rejectedAcks' | 'failedMessages'>;

/** Counts pending and rejected items from the message indexes. */
export async function loadCounts(db: ReadSyncDb): Promise<SyncCounts> {
  const [pendingAcks, rejectedAcks, pendingMessages, failedMessages] = await Promise.all([
    db.messages.where('ackStatus').equals('pending').count(),
    db.messages.where('ackStatus').equals('rejected').count(),
    db.messages.where('status').equals('pending').count(),
    db.messages.where('status').equals('failed').count(),
  ]);
  return { pendingAcks, pendingMessages, rejectedAcks, failedMessages };
}
