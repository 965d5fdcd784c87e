import type { AckBatchResponse, ConvType, GroupType } from '../../protocol';

/**
 * Storage of the reference sync server. Asynchronous, so that a networked
 * database (PostgreSQL, shared by several server processes) fits behind it;
 * the embedded stores (SQLite through better-sqlite3, memory) work
 * synchronously inside and return settled promises. Every method is a small,
 * indexed operation: nothing here scans a conversation's members or a
 * message's readers as a whole.
 *
 * Writes that must be atomic go through `transaction(fn)`, whose `tx` is the
 * store bound to that transaction. Calls on the store itself (not on `tx`)
 * never see a transaction's writes before it commits.
 *
 * Implementations: `MemoryStore` (tests), `SqliteStore` (embedded default, one
 * process) and `PostgresStore` (several processes on one database). All pass
 * test/contracts/storeContract.ts.
 */
export interface Store {
  /**
   * Runs `fn` atomically: either everything it wrote through `tx` is kept or,
   * if it throws (rejects), nothing is. Transactions of one store do not
   * interleave their effects. `tx.transaction(f)` joins the outer transaction.
   * A store with concurrent writers may run `fn` again after a deadlock or
   * serialization failure, so `fn` keeps its effects inside `tx` (or resets
   * what it collects at its start).
   */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;

  // ---- conversations -------------------------------------------------------
  /**
   * The conversation. Inside a transaction, a store with concurrent writers
   * locks it until the transaction ends: whoever read its `seq` there writes
   * the next position, and nobody else meanwhile.
   */
  getConversation(id: string): Promise<ConversationRecord | undefined>;
  /** Inserts a new conversation; rejects if the id exists. */
  insertConversation(rec: ConversationRecord): Promise<void>;
  /** Sets the conversation's highest sequence position and member count. */
  updateConversation(id: string, fields: { seq: number; memberCount: number }): Promise<void>;

  // ---- membership (spans in the conversation's sequence) -------------------
  /** The user's open span (current membership), if any. */
  currentSpan(convId: string, userId: string): Promise<MemberSpan | undefined>;
  /** Every span of the user in the conversation, oldest first (one lookup for a whole ack batch). */
  spansOf(convId: string, userId: string): Promise<MemberSpan[]>;
  /** The user's span containing position `seq` (joinedSeq < seq and not left before it), if any. */
  spanAt(convId: string, userId: string, seq: number): Promise<MemberSpan | undefined>;
  /**
   * Opens spans for users joining at `joinedSeq`. The caller ensures none is
   * a current member. Users joining for the first time get the next ordinals,
   * in the order given; returning members keep theirs.
   */
  openSpans(convId: string, userIds: readonly string[], joinedSeq: number): Promise<void>;
  /** Closes the user's open span at `leftSeq`; rejects if they are not a member. */
  closeSpan(convId: string, userId: string, leftSeq: number): Promise<void>;
  /** Ids of the conversations the user currently belongs to, sorted. */
  conversationsOf(userId: string): Promise<string[]>;
  /**
   * Those of `userIds` who are current members of the conversation, or whose
   * span was closed exactly at position `leftAt` (the members who just left).
   * One lookup for all of them (the connected users an event goes to).
   */
  membersAmong(convId: string, userIds: readonly string[], leftAt?: number): Promise<string[]>;
  /**
   * Up to `limit` members of the message's audience (span contains its seq,
   * sender left out) who have not read it, in ordinal order (the order of
   * their first join; issue 14), with ordinal above `afterOrdinal`. A private
   * read does not count (the sender never learns of it). With `asOf`, a read
   * with ackSeq above it does not count either (the member was unread at that
   * snapshot). Found through the message's reader bitmap, so fully read
   * stretches of members cost a word each, not a step per reader.
   */
  unreadAudience(message: Pick<MessageRecord, 'id' | 'convId' | 'seq' | 'senderId'>, afterOrdinal: number | null, limit: number, asOf?: number): Promise<AudienceMember[]>;
  /**
   * (Issue 10.5.) Up to `limit` users to whom the message was delivered (a
   * delivery row) and who have not read it publicly, ordered by userId
   * (code-unit order), after `afterUserId`: the `delivered` member filter.
   * With `asOf`, only deliveries with ackSeq up to it count, and a read with
   * ackSeq above it does not (the member's state at that snapshot). An index
   * range read over the message's deliveries.
   */
  deliveredUnread(messageId: string, afterUserId: string | null, limit: number, asOf?: number): Promise<string[]>;

  // ---- messages --------------------------------------------------------------
  getMessage(id: string): Promise<MessageRecord | undefined>;
  /** The stored messages among `ids` (any order; unknown ids are left out). One round trip for a batch. */
  getMessages(ids: readonly string[]): Promise<MessageRecord[]>;
  /** Inserts a message; rejects if its id exists. */
  insertMessage(rec: MessageRecord): Promise<void>;
  /** Messages of a conversation with seq > `afterSeq`, ascending, at most `limit`. */
  messagesAfter(convId: string, afterSeq: number, limit: number): Promise<MessageRecord[]>;
  /**
   * The messages of a conversation in positions (afterSeq, upToSeq] that
   * asked for receipts and were not sent by `notSender`, ascending, at most
   * `limit`, as references: what a read position reads (an index range read
   * that skips the rest, and no text).
   */
  receiptMessagesInRange(convId: string, afterSeq: number, upToSeq: number, notSender: string, limit: number): Promise<MessageRef[]>;
  /**
   * The newest `limit` messages of a conversation with seq < `beforeSeq`,
   * ascending (an index range read backwards from `beforeSeq`).
   */
  messagesBefore(convId: string, beforeSeq: number, limit: number): Promise<MessageRecord[]>;
  /**
   * Moves the incrementally maintained receipt state of messages forward (one
   * statement for a whole ack batch): `readCount += added`, `deliveredCount +=
   * delivered`, and `lastReadAt`, `lastAckSeq` to the larger of stored and
   * given. Each message appears at most once.
   */
  updateReadStates(updates: readonly ReadStateUpdate[]): Promise<void>;
  /**
   * The sender's messages whose receipt state changed after global ack
   * sequence `afterAckSeq`, ascending by `lastAckSeq`, at most `limit`.
   */
  receiptChangesOf(senderId: string, afterAckSeq: number, limit: number): Promise<MessageRecord[]>;

  // ---- reads (one row per message and reader, only for those who read) -----
  getRead(messageId: string, userId: string): Promise<ReadRecord | undefined>;
  /**
   * Inserts reads, skipping any (message, reader) already stored, earlier in
   * `recs` included; returns the message ids of the rows actually inserted.
   * One statement for a whole ack batch. A public read that goes in sets the
   * reader's bit in the message's reader bitmap in the same transaction
   * (`unreadAudience`).
   */
  insertReads(recs: readonly ReadRecord[]): Promise<string[]>;
  /**
   * (Issue 10.5.) Inserts deliveries, skipping any (message, user) already
   * stored, earlier in `recs` included; returns the message ids of the rows
   * actually inserted (a message id once per inserted row). One statement for
   * a whole batch.
   */
  insertDeliveries(recs: readonly DeliveryRecord[]): Promise<string[]>;
  /**
   * Optional: an ack batch's reads (one reader's) stored and counted in one
   * step, for a store where each step is a round trip (PostgreSQL). The same
   * as, in a transaction: `reserveAckSeqs(reads.length)` with the numbers
   * given to `reads` in order (written into each `ackSeq`), `insertReads`,
   * then for the public reads that went in what `countNewReads` does (their
   * deliveries, unless stored, and one counter update); `senders[i]` is the
   * sender of `reads[i]`'s message. Returns what `insertReads` returns.
   */
  insertCountedReads?(reads: ReadRecord[], senders: readonly string[]): Promise<string[]>;
  /** Public readers of a message in ack order, with ackSeq > `afterAckSeq`, at most `limit` (private reads are left out). */
  readsAfter(messageId: string, afterAckSeq: number, limit: number): Promise<ReadRecord[]>;
  /**
   * The user's own reads with ackSeq > `afterAckSeq`, ascending by ackSeq, at
   * most `limit`: what the user's other devices catch up on (an index range
   * read on (userId, ackSeq)).
   */
  readsByUserAfter(userId: string, afterAckSeq: number, limit: number): Promise<ReadRecord[]>;
  /** The user's reads among `messageIds` (any order; one round trip for a page of messages). */
  readsOf(userId: string, messageIds: readonly string[]): Promise<ReadRecord[]>;

  // ---- user settings ---------------------------------------------------------
  /** The user's receipt mode; `public` when never set. */
  getReceiptMode(userId: string): Promise<'public' | 'private'>;
  /** Sets the user's receipt mode. */
  putReceiptMode(userId: string, mode: 'public' | 'private'): Promise<void>;

  // ---- read positions (a user's "read up to here" in a conversation) -------
  /** The user's read position in the conversation, if any. */
  getReadPosition(convId: string, userId: string): Promise<ReadPositionRecord | undefined>;
  /** Inserts or replaces the user's read position. The caller only ever moves it forward. */
  putReadPosition(rec: ReadPositionRecord): Promise<void>;
  /** The user's read positions in any of `convIds` (any order; one round trip). */
  readPositionsOf(userId: string, convIds: readonly string[]): Promise<ReadPositionRecord[]>;

  // ---- counters and idempotency --------------------------------------------
  /**
   * The global ack sequence's committed position: every number up to it is
   * either used by a committed read or never will be (0 when none).
   */
  lastAckSeq(): Promise<number>;
  /**
   * Reserves `count` consecutive numbers of the global ack sequence and
   * returns the first. Call it inside `transaction`: the numbers are
   * persisted with what uses them, and taken back if it rolls back. With
   * concurrent writers the transaction holds the sequence until it ends, so
   * numbers are committed in order: a position a reader has seen is never
   * filled in later (cursors and read-member pages rely on that).
   */
  reserveAckSeqs(count: number): Promise<number>;
  /**
   * The stored result of an ack batch of this user, if it was applied. Inside
   * a transaction, a store with concurrent writers makes a concurrent
   * transaction asking for the same (user, batch) wait here until this one
   * ends, so a batch sent to two servers at once is applied once.
   */
  getBatchResult(userId: string, batchId: string): Promise<AckBatchResponse | undefined>;
  /** Stores a batch result, stamped `at` (ms), for replay. */
  putBatchResult(userId: string, batchId: string, result: AckBatchResponse, at: number): Promise<void>;
  /** Forgets batch results stamped before `before` (bounded retention). */
  pruneBatchResults(before: number): Promise<void>;

  /**
   * Present on stores that several server processes share: what other
   * processes commit, as positions. Absent on single-process stores, whose
   * server learns of every change from its own core.
   */
  readonly changes?: ChangeFeed;

  /**
   * How many operations this store usefully serves at once (PostgresStore:
   * its pool size): the server keeps that many requests in flight. Absent:
   * 1, a store that works synchronously, where requests run one after another.
   */
  readonly concurrency?: number;

  /** Releases resources (database handle, connection pool). */
  close(): Promise<void>;
}

/**
 * Commits of every process sharing a store (this one's included), told as
 * positions, never as data: a listener reads what changed from the store.
 */
export interface ChangeFeed {
  /** Starts delivering changes to `listener`; resolves once they flow. Returns the function that stops it. */
  listen(listener: ChangeListener): Promise<() => Promise<void>>;
  /**
   * Messages whose receipt state changed after global ack position
   * `afterAckSeq`, ascending by `lastAckSeq`, at most `limit`: the receipt
   * stream read from a position (an index range read).
   */
  receiptStatesAfter(afterAckSeq: number, limit: number): Promise<MessageRecord[]>;
}

/** What a `ChangeFeed` tells: a commit moved a position. */
export type StoreChange =
  /** The global ack sequence's committed position is now (at least) `position`. */
  | { kind: 'receipts'; position: number }
  /** Messages were stored in `convId` at positions (fromSeq, toSeq]. */
  | { kind: 'messages'; convId: string; fromSeq: number; toSeq: number }
  /** `convId` was created (seq 0) or its membership changed at position `seq`. */
  | { kind: 'conversation'; convId: string; seq: number }
  /**
   * `userId` read messages (their reads after global ack position
   * `afterAckSeq`), and moved read positions if `positions`: what their other
   * devices are told (`my-reads`).
   */
  | { kind: 'reads'; userId: string; afterAckSeq: number; positions: boolean }
  /** `userId`'s settings changed (`putReceiptMode`): what their devices are told (`settings`). */
  | { kind: 'settings'; userId: string };

/** Receives a `ChangeFeed`'s changes. */
export interface ChangeListener {
  change(change: StoreChange): void;
  /** Changes may have been missed (the feed's connection dropped and came back): catch up from the store. */
  resync(): void;
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

/**
 * A member of a message's audience with their ordinal in the conversation:
 * 0, 1, … in the order of first joins (users who join in one call, in the
 * order given), kept for good when they leave and come back (issue 14).
 */
export interface AudienceMember {
  userId: string;
  ordinal: number;
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
  /**
   * (Issue 10.5.) Members with a delivery row for it: its readers (a read
   * implies delivery) and those whose devices said they stored it. Rows from
   * before deliveries were counted may hold less than `readCount`: read it
   * as the larger of the two.
   */
  deliveredCount: number;
  /** Latest readAt among its reads (client clocks); 0 when unread. */
  lastReadAt: number;
  /** Global ack sequence of its latest read; 0 when unread. */
  lastAckSeq: number;
}

/** What a read position needs of a message. */
export interface MessageRef {
  id: string;
  senderId: string;
  seq: number;
}

/** New reads of one message, as a relative update of its counters. */
export interface ReadStateUpdate {
  messageId: string;
  /** Reads added. */
  added: number;
  /** Deliveries added (issue 10.5). */
  delivered: number;
  lastReadAt: number;
  lastAckSeq: number;
}

/** A user's read position in a conversation: every position up to `seq` read at `readAt`. */
export interface ReadPositionRecord {
  convId: string;
  userId: string;
  seq: number;
  /** Client clock of the read (`markConversationRead`). */
  readAt: number;
}

/** One reader of one message. */
export interface ReadRecord {
  messageId: string;
  userId: string;
  /** Client clock at markRead. */
  readAt: number;
  /** Global ack sequence: insertion order, and the receipts-event cursor. */
  ackSeq: number;
  /**
   * A private read (issue 10): kept for the reader's own devices, never
   * counted, listed as a reader or told to the sender. Absent: public.
   */
  private?: boolean;
}

/**
 * One delivery of one message to one member (issue 10.5): the member's device
 * stored it, or the member read it. At most one per (message, user).
 */
export interface DeliveryRecord {
  messageId: string;
  userId: string;
  /** Global ack sequence of the delivery (the read's, when a read made it): member-page snapshots. */
  ackSeq: number;
}
