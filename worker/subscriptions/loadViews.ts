import * as v from 'valibot';
import { ConversationSchema, type Conversation } from '../../src/protocol';
import type { SyncStatus } from '../../src/bridge';
import type { ReadSyncDb } from '../db/ReadSyncDb';
import { queuedAckRows } from '../db/ackKeys';
import { queuedPositionRows } from '../store/readPositions';

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

/** Counts pending items (acks and read positions: in the outbox) and rejected ones (message indexes). */
export async function loadCounts(db: ReadSyncDb): Promise<SyncCounts> {
  const [acks, positions, rejectedAcks, pendingMessages, failedMessages] = await Promise.all([
    queuedAckRows(db).count(),
    queuedPositionRows(db).count(),
    db.messages.where('ackStatus').equals('rejected').count(),
    db.messages.where('status').equals('pending').count(),
    db.messages.where('status').equals('failed').count(),
  ]);
  // A queued read position (markConversationRead) is a pending receipt too.
  return { pendingAcks: acks + positions, pendingMessages, rejectedAcks, failedMessages };
}
