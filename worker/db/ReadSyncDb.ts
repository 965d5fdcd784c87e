import Dexie, { type EntityTable } from 'dexie';
import type { Conversation, ErrorPayload, MessageReceipt, OutgoingMessage, ReadMemberPage } from '../../src/protocol';
import type { LocalMessage } from '../../src/bridge';

/** Added to `createdAt` to order pending (seq-less) messages after every sent one. */
export const PENDING_POS_BASE = 2 ** 52;

/** A stored message. `pos` = seq once sent, PENDING_POS_BASE + createdAt while pending: one index orders a conversation. */
export interface MessageRow extends LocalMessage {
  pos: number;
}

/** Receipt state of one of my messages. */
export type ReceiptRow = MessageReceipt;

/** A conversation plus how far we have pulled it. */
export interface ConversationRow extends Conversation {
  pulledSeq: number;
}

/**
 * One queued outbound item. The primary key coalesces: one ack per message
 * (`ack:<messageId>`), one send per message (`msg:<messageId>`).
 */
export interface OutboxRow {
  key: string;
  kind: 'ack' | 'message';
  messageId: string;
  convId: string;
  /** Enqueue order; messages are sent in this order per conversation. */
  enqueuedAt: number;
  /** ack: when the user read it. */
  readAt?: number;
  /** message: what to submit. */
  message?: OutgoingMessage;
  attempts: number;
  lastError?: ErrorPayload;
}

/** A cached member page, so the member list still shows offline. */
export interface MemberPageRow {
  key: string; // `${messageId}|${filter}|${cursor ?? ''}`
  messageId: string;
  page: ReadMemberPage;
  fetchedAt: number;
}

/** Small key/value facts: user id, server config, receipt cursor. */
export interface MetaRow {
  key: string;
  value: unknown;
}

/** The worker's IndexedDB database, one per user (`readsync-<userId>` by default). */
export class ReadSyncDb extends Dexie {
  messages!: EntityTable<MessageRow, 'id'>;
  receipts!: EntityTable<ReceiptRow, 'messageId'>;
  conversations!: EntityTable<ConversationRow, 'id'>;
  outbox!: EntityTable<OutboxRow, 'key'>;
  memberPages!: EntityTable<MemberPageRow, 'key'>;
  meta!: EntityTable<MetaRow, 'key'>;

  constructor(name: string, options: { indexedDB?: IDBFactory; IDBKeyRange?: typeof IDBKeyRange } = {}) {
    // Strict durability: markRead resolves only once the acks are on disk.
    super(name, { ...options, chromeTransactionDurability: 'strict' });
    // Schema history: bump the version and add an upgrade for every change; never edit an old one.
    this.version(1).stores({
      messages: 'id, [convId+pos], ackStatus, status',
      receipts: 'messageId, convId',
      conversations: 'id',
      outbox: 'key, [kind+enqueuedAt], convId',
      memberPages: 'key, messageId',
      meta: 'key',
    });
  }
}
