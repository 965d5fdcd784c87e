// The named export: it is the class under every module resolution; under node16 the default import of
// Dexie's CommonJS-format types is the module object, and the shipped .d.ts (`extends Dexie`) breaks.
import { Dexie, type EntityTable } from 'dexie';
import type { Conversation, ErrorPayload, MessageReceipt, OutgoingMessage, ReadMemberPage, ReceiptMode } from '../../src/protocol';
import type { LocalMessage } from '../../src/bridge';
import { ACK_SEQ_META, ackKey } from './ackKeys';
import { META_USER } from '../store/meta';

/** Added to `createdAt` to order pending (seq-less) messages after every sent one. */
export const PENDING_POS_BASE = 2 ** 52;

/**
 * A stored message. `pos` = seq once sent, PENDING_POS_BASE + createdAt while
 * pending: one index orders a conversation.
 *
 * `ackStatus: 'pending'` is stored once, when the user reads the message, and
 * is NOT rewritten when the ack reaches the server: the ack is 'sent' as soon
 * as its outbox row (`ackKey(ackSeq)`) is gone. Rewriting 10,000 message rows
 * would cost a request each; dropping the outbox rows costs one range delete.
 * Use `effectiveAckStatus` (store/readState.ts) wherever the status is shown.
 */
export interface MessageRow extends LocalMessage {
  pos: number;
  /** Sequence number of my ack's outbox row, set with `ackStatus: 'pending'`. */
  ackSeq?: number;
  /**
   * 1 when my read of it travels in my read position of its conversation
   * (`markConversationRead`, outbox row `positionKey(convId)`), not in an ack
   * of its own: set with `ackStatus: 'pending'`, which shows 'sent' once that
   * row has left the outbox.
   */
  ackByPosition?: 1;
  /**
   * 1 on my own messages that asked for receipts, absent on all others: a
   * sparse index, so the catch-up finds the receipts to refresh without
   * reading every message, and other rows cost no index entry.
   */
  ownWithReceipts?: 1;
  /**
   * `pos`, set only on messages from others that I have not read (no
   * `readAt`): the sparse `[convId+unread]` index, so a conversation's unread
   * count is one key range counted from my read position, without reading a
   * row. Removed whenever `readAt` is set.
   */
  unread?: number;
}

/** Receipt state of one of my messages. */
export type ReceiptRow = MessageReceipt;

/** A conversation plus how far we have pulled it. */
export interface ConversationRow extends Conversation {
  /** The position the next pull continues from (the top of `covered`). */
  pulledSeq: number;
  /**
   * Position ranges `(lo, hi]` whose messages are all stored here (see
   * store/coverage.ts). Absent on rows of earlier versions, which pulled
   * every conversation from 0: then `(0, pulledSeq]`. Not indexed, so no
   * schema version.
   */
  covered?: [number, number][];
  /**
   * My read position (issue 10): every message up to this seq is read by me,
   * the max of what I marked here and what the server says for all my
   * devices; absent = none. `readSeqAt` is when. Not indexed.
   */
  readSeq?: number;
  readSeqAt?: number;
}

/**
 * One queued outbound item: an ack, a read position, a message to send or my
 * changed settings. At most one ack per message is ever queued (markRead
 * skips read messages).
 */
export type OutboxRow = AckOutboxRow | SendOutboxRow | PositionOutboxRow | SettingsOutboxRow | DeliveryOutboxRow;

/**
 * My acknowledgement of a message, keyed `ackKey(seq)` (enqueue order, see
 * db/ackKeys.ts). Deliberately lean and outside every index: 10,000 of them
 * are written by one markRead and dropped by 20 range deletes.
 */
export interface AckOutboxRow {
  key: string;
  kind: 'ack';
  messageId: string;
  /** When the user read it (the ack's `t`). */
  readAt: number;
  /** 1: read while my receipts were private (the ack's `p`, issue 10.4); fixed at read time. */
  private?: 1;
}

/**
 * My read position in one conversation waiting for the server, keyed
 * `p:<convId>` (store/readPositions.ts): ONE row per conversation, however
 * often it moves, holding the highest position (`markConversationRead`). It
 * rides in the ack batches (`positions`), outside every index.
 */
export interface PositionOutboxRow {
  key: string;
  kind: 'position';
  convId: string;
  seq: number;
  /** When the user read up to `seq` (the position's `t`). */
  readAt: number;
  /**
   * 1: private (the position's `p`). Positions of one conversation merge into
   * this one row, and the merge keeps `private` if either was: a merge may
   * make reads of that conversation made while public private too, never the
   * reverse (store/readPositions.ts).
   */
  private?: 1;
}

/**
 * What this device has stored of one conversation and not yet told the
 * server (issue 10.5), keyed `d:<convId>` (store/deliveries.ts): ONE row per
 * conversation, its position ranges `(lo, hi]` merged as messages arrive
 * (sorted, disjoint, not touching). Written in the transaction that stores
 * the messages, and only for ranges holding a message from someone else that
 * asked for receipts. Rides in the ack batches (`deliveries`); an answer
 * removes what was sent, so ranges added while a batch travelled stay.
 * Outside every index, like positions: no schema version.
 */
export interface DeliveryOutboxRow {
  key: string;
  kind: 'delivery';
  convId: string;
  ranges: [number, number][];
}

/**
 * My receipt mode as I last changed it on this device, waiting for the server
 * (`POST /v1/settings`), keyed `s:settings`: ONE row, the last change wins
 * (store/receiptMode.ts). While it is queued, the server's settings (pulls,
 * `settings` events) do not overwrite the local mode.
 */
export interface SettingsOutboxRow {
  key: string;
  kind: 'settings';
  receipts: ReceiptMode;
  /** When it was changed here: tells a row replaced during a send from the one sent. */
  changedAt: number;
}

/** A message of mine to send, keyed `msg:<messageId>`. */
export interface SendOutboxRow {
  key: string;
  kind: 'message';
  messageId: string;
  convId: string;
  /** Send order (the `[kind+enqueuedAt]` index): messages go out in this order, per conversation too. */
  enqueuedAt: number;
  message: OutgoingMessage;
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
    // v2: acks are re-keyed from `ack:<messageId>` to ordered `ackKey(seq)` keys, in their
    // enqueue order, as lean rows outside every index (AckOutboxRow), and their message rows
    // learn the seq (see MessageRow.ackSeq). The unused outbox `convId` index goes. My own
    // messages that asked for receipts get the sparse `ownWithReceipts` index.
    this.version(2)
      .stores({ messages: 'id, [convId+pos], ackStatus, status, ownWithReceipts', outbox: 'key, [kind+enqueuedAt]' })
      .upgrade(async (tx) => {
        const owner = (await tx.table<MetaRow, string>('meta').get(META_USER))?.value;
        if (typeof owner === 'string') {
          await tx
            .table<MessageRow, string>('messages')
            .filter((m) => m.senderId === owner && m.needReadReceipt === true)
            .modify((m) => {
              m.ownWithReceipts = 1;
            });
        }
        const outbox = tx.table<{ key: string; messageId: string; readAt?: number; enqueuedAt: number }, string>('outbox');
        const messages = tx.table<MessageRow, string>('messages');
        const acks = await outbox.where('[kind+enqueuedAt]').between(['ack', Dexie.minKey], ['ack', Dexie.maxKey]).toArray();
        const rows = await messages.bulkGet(acks.map((a) => a.messageId));
        const rekeyed = acks.map((a, i): AckOutboxRow => ({ key: ackKey(i + 1), kind: 'ack', messageId: a.messageId, readAt: a.readAt ?? a.enqueuedAt }));
        const linked: MessageRow[] = [];
        rows.forEach((m, i) => {
          if (m && m.ackStatus === 'pending') linked.push({ ...m, ackSeq: i + 1 });
        });
        await outbox.bulkDelete(acks.map((a) => a.key));
        await tx.table<AckOutboxRow, string>('outbox').bulkAdd(rekeyed);
        await messages.bulkPut(linked);
        await tx.table<MetaRow, string>('meta').put({ key: ACK_SEQ_META, value: acks.length });
      });
    // v3 (issue 10): the sparse `[convId+unread]` index of messages from others I have not read
    // (MessageRow.unread), so unread counts are key ranges counted from my read position.
    this.version(3)
      .stores({ messages: 'id, [convId+pos], ackStatus, status, ownWithReceipts, [convId+unread]' })
      .upgrade(async (tx) => {
        const owner = (await tx.table<MetaRow, string>('meta').get(META_USER))?.value;
        if (typeof owner !== 'string') return;
        await tx
          .table<MessageRow, string>('messages')
          .filter((m) => m.senderId !== owner && m.readAt === undefined && typeof m.pos === 'number')
          .modify((m) => {
            m.unread = m.pos;
          });
      });
  }
}
