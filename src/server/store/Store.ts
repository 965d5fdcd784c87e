import type { AckBatchResponse, ConvType, GroupType } from '../../protocol';

/**
 * Storage of the reference sync server. Synchronous on purpose: the embedded
 * store is better-sqlite3 (synchronous), and a synchronous store lets the
 * rules core apply a whole ack batch inside one `transaction(fn)` with no
 * interleaving. Every method is a small, indexed operation: nothing here
 * scans a conversation's members or a message's readers as a whole.
 *
 * Implementations: `MemoryStore` (tests) and `SqliteStore` (embedded
 * default). Both pass test/contracts/storeContract.ts.
 */
export interface Store {
  /**
   * Runs `fn` atomically: either everything it wrote is kept or, if it
   * throws, nothing is. Nested calls join the outer transaction.
   */
  transaction<T>(fn: () => T): T;

  // ---- conversations -------------------------------------------------------
  getConversation(id: string): ConversationRecord | undefined;
  /** Inserts a new conversation; throws if the id exists. */
  insertConversation(rec: ConversationRecord): void;
  /** Sets the conversation's highest sequence position and member count. */
  updateConversation(id: string, fields: { seq: number; memberCount: number }): void;

  // ---- membership (spans in the conversation's sequence) -------------------
  /** The user's open span (current membership), if any. */
  currentSpan(convId: string, userId: string): MemberSpan | undefined;
  /** Every span of the user in the conversation, oldest first (one lookup for a whole ack batch). */
  spansOf(convId: string, userId: string): MemberSpan[];
  /** The user's span containing position `seq` (joinedSeq < seq and not left before it), if any. */
  spanAt(convId: string, userId: string, seq: number): MemberSpan | undefined;
  /** Opens spans for users joining at `joinedSeq`. The caller ensures none is a current member. */
  openSpans(convId: string, userIds: readonly string[], joinedSeq: number): void;
  /** Closes the user's open span at `leftSeq`. */
  closeSpan(convId: string, userId: string, leftSeq: number): void;
  /** Ids of the conversations the user currently belongs to. */
  conversationsOf(userId: string): string[];
  /**
   * Up to `limit` members of the message's audience (span contains its seq,
   * sender left out) who have not read it, ordered by userId, after
   * `afterUserId`. An index range read over the conversation's members.
   */
  unreadAudience(message: Pick<MessageRecord, 'id' | 'convId' | 'seq' | 'senderId'>, afterUserId: string | null, limit: number): string[];

  // ---- messages --------------------------------------------------------------
  getMessage(id: string): MessageRecord | undefined;
  /** The stored messages among `ids` (any order; unknown ids are left out). One round trip for a batch. */
  getMessages(ids: readonly string[]): MessageRecord[];
  insertMessage(rec: MessageRecord): void;
  /** Messages of a conversation with seq > `afterSeq`, ascending, at most `limit`. */
  messagesAfter(convId: string, afterSeq: number, limit: number): MessageRecord[];
  /**
   * Moves the incrementally maintained receipt state of messages forward (one
   * statement for a whole ack batch): `readCount += added`, and `lastReadAt`,
   * `lastAckSeq` to the larger of stored and given.
   */
  updateReadStates(updates: readonly ReadStateUpdate[]): void;
  /**
   * The sender's messages whose receipt state changed after global ack
   * sequence `afterAckSeq`, ascending by `lastAckSeq`, at most `limit`.
   */
  receiptChangesOf(senderId: string, afterAckSeq: number, limit: number): MessageRecord[];

  // ---- reads (one row per message and reader, only for those who read) -----
  getRead(messageId: string, userId: string): ReadRecord | undefined;
  /**
   * Inserts reads, skipping any (message, reader) already stored, earlier in
   * `recs` included; returns the message ids of the rows actually inserted.
   * One statement for a whole ack batch.
   */
  insertReads(recs: readonly ReadRecord[]): string[];
  /** Readers of a message in ack order, with ackSeq > `afterAckSeq`, at most `limit`. */
  readsAfter(messageId: string, afterAckSeq: number, limit: number): ReadRecord[];

  // ---- counters and idempotency --------------------------------------------
  /** Highest global ack sequence used so far (0 when none). */
  lastAckSeq(): number;
  /** Reserves the next global ack sequence number. */
  nextAckSeq(): number;
  /** The stored result of an ack batch of this user, if it was applied. */
  getBatchResult(userId: string, batchId: string): AckBatchResponse | undefined;
  /** Stores a batch result, stamped `at` (ms), for replay. */
  putBatchResult(userId: string, batchId: string, result: AckBatchResponse, at: number): void;
  /** Forgets batch results stamped before `before` (bounded retention). */
  pruneBatchResults(before: number): void;

  /** Releases resources (database handle). */
  close(): void;
}

/** A conversation as stored. `name` is empty for c2c (each side is shown the peer). */
export interface ConversationRecord {
  id: string;
  type: ConvType;
  groupType: GroupType | null;
  name: string;
  /** c2c only: the two users, sorted. */
  c2cUsers: [string, string] | null;
  /** Highest position used in the conversation's sequence (messages and membership changes). */
  seq: number;
  memberCount: number;
  createdAt: number;
}

/** One stretch of membership: member for every position p with joinedSeq < p, and p < leftSeq if left. */
export interface MemberSpan {
  convId: string;
  userId: string;
  joinedSeq: number;
  leftSeq: number | null;
}

/** A message as stored, with its incrementally maintained receipt state. */
export interface MessageRecord {
  id: string;
  convId: string;
  convType: ConvType;
  senderId: string;
  text: string;
  needReadReceipt: boolean;
  seq: number;
  sentAt: number;
  /** Members at send time minus the sender, fixed at send. */
  audienceCount: number;
  readCount: number;
  /** Latest readAt among its reads (client clocks); 0 when unread. */
  lastReadAt: number;
  /** Global ack sequence of its latest read; 0 when unread. */
  lastAckSeq: number;
}

/** New reads of one message, as a relative update of its counters. */
export interface ReadStateUpdate {
  messageId: string;
  /** Reads added. */
  added: number;
  lastReadAt: number;
  lastAckSeq: number;
}

/** One reader of one message. */
export interface ReadRecord {
  messageId: string;
  userId: string;
  /** Client clock at markRead. */
  readAt: number;
  /** Global ack sequence: insertion order, and the receipts-event cursor. */
  ackSeq: number;
}
