import Dexie from 'dexie';
import * as v from 'valibot';
import { ConversationSchema, type Conversation } from '../../src/protocol';
import type { LocalMessage, SyncStatus } from '../../src/bridge';
import type { MessageRow, ReadSyncDb } from '../db/ReadSyncDb';
import { ACK_KEYS_FROM, ACK_KEYS_TO } from '../db/ackKeys';
import { isMessageRow, toLocalMessage } from '../store/readState';
import { loadQueuedAcks } from '../store/queuedAcks';

/**
 * The latest `limit` messages of a conversation, oldest first. Damaged rows
 * are skipped. Call inside a read transaction over messages and outbox.
 */
export async function loadMessages(db: ReadSyncDb, convId: string, limit: number): Promise<LocalMessage[]> {
  const rows = await db.messages
    .where('[convId+pos]')
    .between([convId, Dexie.minKey], [convId, Dexie.maxKey])
    .reverse()
    .limit(limit)
    .toArray();
  const valid: MessageRow[] = [];
  for (let i = rows.length - 1; i >= 0; i--) {
    const row: unknown = rows[i];
    if (isMessageRow(row)) valid.push(row);
  }
  const queued = await loadQueuedAcks(db, valid);
  return valid.map((row) => toLocalMessage(row, queued.get(row.id)));
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

/** Counts pending items (acks: in the outbox) and rejected ones (message indexes). */
export async function loadCounts(db: ReadSyncDb): Promise<SyncCounts> {
  const [pendingAcks, rejectedAcks, pendingMessages, failedMessages] = await Promise.all([
    db.outbox.where(':id').between(ACK_KEYS_FROM, ACK_KEYS_TO, true, true).count(),
    db.messages.where('ackStatus').equals('rejected').count(),
    db.messages.where('status').equals('pending').count(),
    db.messages.where('status').equals('failed').count(),
  ]);
  return { pendingAcks, pendingMessages, rejectedAcks, failedMessages };
}
