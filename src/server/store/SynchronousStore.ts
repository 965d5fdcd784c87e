import type { AckBatchResponse } from '../../protocol';
import type { AudienceMember, ConversationRecord, DeliveryRecord, MemberSpan, MessageRecord, MessageRef, ReadPositionRecord, ReadRecord, ReadStateUpdate, Store } from './Store';

type StoreMethod = Exclude<keyof Store, 'transaction' | 'close' | 'changes' | 'concurrency' | 'insertCountedReads'>;

/**
 * What an embedded store does synchronously (better-sqlite3, plain maps):
 * each `Store` method without the promise, plus the transaction's edges.
 */
export type SyncOps = { [K in StoreMethod]: (...args: Parameters<Store[K]>) => Awaited<ReturnType<Store[K]>> } & {
  begin(): void;
  commit(): void;
  rollback(): void;
  close(): void;
};

/**
 * The asynchronous `Store` over synchronous operations (`SqliteStore`,
 * `MemoryStore`). Each call runs at once and returns a settled promise, so an
 * ack batch costs a few microtasks more than it did when the interface was
 * synchronous, and no extra turn of the event loop.
 *
 * What the promises add is a way to interleave: while a transaction awaits,
 * other callers run. So transactions (and the calls made while one is open)
 * are queued FIFO: a transaction's writes are never seen, and never mixed
 * with others', before it commits, exactly as with a database connection per
 * transaction. With no transaction open, a call runs immediately.
 */
export class SynchronousStore implements Store {
  /** Transactions (and calls waiting behind them) queued or running. */
  private pending = 0;
  private tail: Promise<unknown> = Promise.resolve();
  /** The store as seen inside the running transaction: calls go straight to the operations. */
  private readonly tx: Store;

  constructor(private readonly ops: SyncOps) {
    const tx = Object.create(this) as SynchronousStore;
    tx.run = settle;
    tx.transaction = (fn) => fn(tx);
    tx.close = () => Promise.reject(new Error('close() inside a transaction'));
    this.tx = tx;
  }

  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return this.schedule(async () => {
      this.ops.begin();
      let out: T;
      try {
        out = await fn(this.tx);
      } catch (err) {
        this.ops.rollback();
        throw err;
      }
      this.ops.commit();
      return out;
    });
  }

  /** Runs `task` after everything queued before it; at once if nothing is. */
  private schedule<T>(task: () => Promise<T>): Promise<T> {
    this.pending++;
    const started = this.pending === 1 ? task() : this.tail.then(task);
    const out = started.finally(() => this.pending--);
    this.tail = out.catch(() => undefined);
    return out;
  }

  /** A call outside any transaction: now if none is open or queued, else after them. */
  protected run<T>(op: () => T): Promise<T> {
    if (this.pending === 0) return settle(op);
    return this.schedule(() => settle(op));
  }

  getConversation(id: string): Promise<ConversationRecord | undefined> {
    return this.run(() => this.ops.getConversation(id));
  }
  insertConversation(rec: ConversationRecord): Promise<void> {
    return this.run(() => this.ops.insertConversation(rec));
  }
  updateConversation(id: string, fields: { seq: number; memberCount: number }): Promise<void> {
    return this.run(() => this.ops.updateConversation(id, fields));
  }
  currentSpan(convId: string, userId: string): Promise<MemberSpan | undefined> {
    return this.run(() => this.ops.currentSpan(convId, userId));
  }
  spansOf(convId: string, userId: string): Promise<MemberSpan[]> {
    return this.run(() => this.ops.spansOf(convId, userId));
  }
  spanAt(convId: string, userId: string, seq: number): Promise<MemberSpan | undefined> {
    return this.run(() => this.ops.spanAt(convId, userId, seq));
  }
  openSpans(convId: string, userIds: readonly string[], joinedSeq: number): Promise<void> {
    return this.run(() => this.ops.openSpans(convId, userIds, joinedSeq));
  }
  closeSpan(convId: string, userId: string, leftSeq: number): Promise<void> {
    return this.run(() => this.ops.closeSpan(convId, userId, leftSeq));
  }
  conversationsOf(userId: string): Promise<string[]> {
    return this.run(() => this.ops.conversationsOf(userId));
  }
  membersAmong(convId: string, userIds: readonly string[], leftAt?: number): Promise<string[]> {
    return this.run(() => this.ops.membersAmong(convId, userIds, leftAt));
  }
  unreadAudience(message: Pick<MessageRecord, 'id' | 'convId' | 'seq' | 'senderId'>, afterOrdinal: number | null, limit: number, asOf?: number): Promise<AudienceMember[]> {
    return this.run(() => this.ops.unreadAudience(message, afterOrdinal, limit, asOf));
  }
  deliveredUnread(messageId: string, afterUserId: string | null, limit: number, asOf?: number): Promise<string[]> {
    return this.run(() => this.ops.deliveredUnread(messageId, afterUserId, limit, asOf));
  }
  getMessage(id: string): Promise<MessageRecord | undefined> {
    return this.run(() => this.ops.getMessage(id));
  }
  getMessages(ids: readonly string[]): Promise<MessageRecord[]> {
    return this.run(() => this.ops.getMessages(ids));
  }
  insertMessage(rec: MessageRecord): Promise<void> {
    return this.run(() => this.ops.insertMessage(rec));
  }
  messagesAfter(convId: string, afterSeq: number, limit: number): Promise<MessageRecord[]> {
    return this.run(() => this.ops.messagesAfter(convId, afterSeq, limit));
  }
  receiptMessagesInRange(convId: string, afterSeq: number, upToSeq: number, notSender: string, limit: number): Promise<MessageRef[]> {
    return this.run(() => this.ops.receiptMessagesInRange(convId, afterSeq, upToSeq, notSender, limit));
  }
  messagesBefore(convId: string, beforeSeq: number, limit: number): Promise<MessageRecord[]> {
    return this.run(() => this.ops.messagesBefore(convId, beforeSeq, limit));
  }
  updateReadStates(updates: readonly ReadStateUpdate[]): Promise<void> {
    return this.run(() => this.ops.updateReadStates(updates));
  }
  receiptChangesOf(senderId: string, afterAckSeq: number, limit: number): Promise<MessageRecord[]> {
    return this.run(() => this.ops.receiptChangesOf(senderId, afterAckSeq, limit));
  }
  getRead(messageId: string, userId: string): Promise<ReadRecord | undefined> {
    return this.run(() => this.ops.getRead(messageId, userId));
  }
  insertReads(recs: readonly ReadRecord[]): Promise<string[]> {
    return this.run(() => this.ops.insertReads(recs));
  }
  insertDeliveries(recs: readonly DeliveryRecord[]): Promise<string[]> {
    return this.run(() => this.ops.insertDeliveries(recs));
  }
  readsAfter(messageId: string, afterAckSeq: number, limit: number): Promise<ReadRecord[]> {
    return this.run(() => this.ops.readsAfter(messageId, afterAckSeq, limit));
  }
  readsByUserAfter(userId: string, afterAckSeq: number, limit: number): Promise<ReadRecord[]> {
    return this.run(() => this.ops.readsByUserAfter(userId, afterAckSeq, limit));
  }
  readsOf(userId: string, messageIds: readonly string[]): Promise<ReadRecord[]> {
    return this.run(() => this.ops.readsOf(userId, messageIds));
  }
  getReceiptMode(userId: string): Promise<'public' | 'private'> {
    return this.run(() => this.ops.getReceiptMode(userId));
  }
  putReceiptMode(userId: string, mode: 'public' | 'private'): Promise<void> {
    return this.run(() => this.ops.putReceiptMode(userId, mode));
  }
  getReadPosition(convId: string, userId: string): Promise<ReadPositionRecord | undefined> {
    return this.run(() => this.ops.getReadPosition(convId, userId));
  }
  putReadPosition(rec: ReadPositionRecord): Promise<void> {
    return this.run(() => this.ops.putReadPosition(rec));
  }
  readPositionsOf(userId: string, convIds: readonly string[]): Promise<ReadPositionRecord[]> {
    return this.run(() => this.ops.readPositionsOf(userId, convIds));
  }
  lastAckSeq(): Promise<number> {
    return this.run(() => this.ops.lastAckSeq());
  }
  reserveAckSeqs(count: number): Promise<number> {
    return this.run(() => this.ops.reserveAckSeqs(count));
  }
  getBatchResult(userId: string, batchId: string): Promise<AckBatchResponse | undefined> {
    return this.run(() => this.ops.getBatchResult(userId, batchId));
  }
  putBatchResult(userId: string, batchId: string, result: AckBatchResponse, at: number): Promise<void> {
    return this.run(() => this.ops.putBatchResult(userId, batchId, result, at));
  }
  pruneBatchResults(before: number): Promise<void> {
    return this.run(() => this.ops.pruneBatchResults(before));
  }
  close(): Promise<void> {
    return this.run(() => this.ops.close());
  }
}

function settle<T>(op: () => T): Promise<T> {
  try {
    return Promise.resolve(op());
  } catch (err) {
    return Promise.reject(err);
  }
}
