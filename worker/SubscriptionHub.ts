import Dexie, { type ObservabilitySet } from 'dexie';
import { StorageError, ValidationError, parseArgument, toErrorPayload, type ErrorPayload, type MessageReceipt } from '../src/protocol';
import { nextTask, packUpdates, type Query, type ReadState, type SubscriptionUpdate, type SyncStatus, type UpdateBatch } from '../src/bridge';
import type { MessageRow, ReadSyncDb, ReceiptRow } from './db/ReadSyncDb';
import { deliveredOf, isMessageRow, isReceiptRow, queuedAckKey, readStateEquals, toReadState } from './store/readState';
import { DELIVERY_KEY_PREFIX } from './db/ackKeys';
import { mergeReceipt } from './store/applyReceipts';
import { readMany } from './store/readMany';
import { loadQueuedAcks } from './store/queuedAcks';
import { META_RECEIPT_MODE, loadQueuedSettings, loadReceiptMode } from './store/receiptMode';
import { toStorageError } from './store/storageErrors';
import { changedKeys } from './subscriptions/changedKeys';
import { loadConversationSummaries } from './subscriptions/loadConversationSummaries';
import { loadMessageWindow } from './subscriptions/loadMessageWindow';
import { StatusCounts } from './subscriptions/StatusCounts';
import { RowCache } from './subscriptions/RowCache';
import { DEFAULT_MESSAGES_LIMIT, UnsubscribeArgsSchema, parseSubscribeArgs, queryKey } from './subscriptions/queries';

/** The in-memory part of SyncStatus (the counts come from the database). */
export type StatusFlags = Pick<SyncStatus, 'connection' | 'leader' | 'flushing' | 'lastError' | 'lastSyncAt'>;

/** Where coalesced update batches go: the UI's single sink (a Comlink proxy). */
export type UpdateSink = (batch: UpdateBatch) => unknown;

interface Entry {
  key: string;
  query: Query;
  subs: Set<number>;
  /** Not computed yet: the next tick loads it from scratch. */
  fresh: boolean;
  hasValue: boolean;
  value: unknown;
  /** read-state: the message it watches. */
  messageId?: string;
  /** Distinct-until-changed for list/status values. */
  json?: string;
  /** read-state: the rows the value was computed from, so a receipt change needs no message read. */
  msg?: unknown;
  receipt?: unknown;
  /** read-state of a message I read: whether my ack is still in the outbox. */
  queued?: boolean;
}

interface Dirty {
  msgIds: Set<string>;
  receiptIds: Set<string>;
  allMessages: boolean;
  allReceipts: boolean;
  /** Outbox keys of acks that changed (queued or sent), or all of them. */
  ackKeys: Set<string>;
  allAcks: boolean;
  /** Read states whose previewed receipt was not stored (its write failed): take the stored one as it is. */
  unpreviewed: Set<string>;
  /** Any message changed: message lists. */
  lists: boolean;
  conversations: boolean;
  status: boolean;
}

/**
 * The receipt state to compute from after a read: receipts only move forward,
 * so a read that raced with a newer preview (or a newer read) must not take
 * the state back. A missing or damaged stored row is taken as it is.
 */
function newerReceipt(cached: unknown, read: unknown): unknown {
  if (!isReceiptRow(cached) || !isReceiptRow(read)) return read;
  return mergeReceipt(read, cached) ?? read;
}

/**
 * Whether a stored receipt says someone read or received the message:
 * `receipts$` is the "receipts arrived" callback, so the zero state written
 * when my own message is accepted (or a server snapshot of it) is no
 * arrival. Receipts are monotonic and the audience is fixed at send time, so
 * a state with nobody reached can only be that first one.
 */
function isReachedAnyone(r: unknown): r is ReceiptRow {
  return isReceiptRow(r) && (r.readCount > 0 || r.isPeerRead || deliveredOf(r) > 0);
}

/** Whether some of the changed outbox keys is not a delivery row's (those are shown nowhere). */
function someShown(keys: ReadonlySet<string>): boolean {
  for (const k of keys) if (!k.startsWith(DELIVERY_KEY_PREFIX)) return true;
  return false;
}

/** A receipt as `receipts$` gives it: with `deliveredCount` (rows stored before deliveries lack it). */
function withDelivered(r: ReceiptRow): ReceiptRow {
  return typeof r.deliveredCount === 'number' && r.deliveredCount >= r.readCount ? r : { ...r, deliveredCount: deliveredOf(r) };
}

const emptyDirty = (): Dirty => ({
  msgIds: new Set(),
  receiptIds: new Set(),
  unpreviewed: new Set(),
  allMessages: false,
  allReceipts: false,
  ackKeys: new Set(),
  allAcks: false,
  lists: false,
  conversations: false,
  status: false,
});
const TABLES = ['messages', 'receipts', 'conversations', 'outbox', 'meta'] as const;

/**
 * Rows per table the hub keeps for first values (RowCache): enough for
 * 10,000 messages on screen and what was stored around them. Rows of a few
 * hundred bytes make a few MB; at the longest texts (4,000 characters) the
 * messages could take ~160 MB, a bound, not a typical size.
 */
const ROW_CACHE_SIZE = 20_000;

interface Notified {
  keys: Set<string>;
  all: boolean;
}
const emptyNotified = () => ({ messages: { keys: new Set<string>(), all: false } as Notified, receipts: { keys: new Set<string>(), all: false } as Notified });

/** A change notification of a table: its keys (or all of it) leave the cache, and are noted as notified. */
function noteKeys(notified: Notified, cache: RowCache, change: { all: boolean; keys: Iterable<string> }): void {
  if (change.all) {
    notified.all = true;
    cache.clear();
  }
  for (const k of change.keys) {
    notified.keys.add(k);
    cache.delete(k);
  }
}

/** Takes what the cache holds of `ids` into `into` (unless already there); returns the ids left to read. */
function fromCache(ids: readonly string[], into: Map<string, unknown>, cache: RowCache): string[] {
  const left: string[] = [];
  for (const id of ids) {
    if (into.has(id)) continue;
    if (cache.has(id)) into.set(id, cache.get(id));
    else left.push(id);
  }
  return left;
}

/** The outbox key that tells whether the ack behind a read state is still queued, if any. */
const ackKeyOf = (e: Entry): string | null => (isMessageRow(e.msg) ? queuedAckKey(e.msg) : null);

/**
 * The worker side of the ONE multiplexed subscription channel.
 *
 * Identical queries share one entry (refcounted by subscription id, released
 * with the last one). No per-subscription live query: the hub listens to
 * Dexie's `storagemutated` event, which fires for this worker's writes, for
 * other Dexie instances in the same realm, and (through BroadcastChannel) for
 * other tabs' workers on the same database. It collects the changed keys and,
 * once per tick, recomputes only the affected read states with one bulkGet
 * per table, then posts every changed value in ONE sink call, the latest
 * value per subscription id. Receipt batches (`receipts` query) are derived
 * from the same changes, so every tab sees each real change once.
 */
export class SubscriptionHub {
  private sink: UpdateSink | null = null;
  private readonly bySub = new Map<number, Entry>();
  private readonly byKey = new Map<string, Entry>();
  private readonly readStates = new Map<string, Entry>();
  /** The entries that are not read states (a few: lists, conversations, status, receipts). */
  private readonly otherEntries = new Set<Entry>();
  private readonly pending = new Map<number, SubscriptionUpdate>();
  private dirty = emptyDirty();
  private flags: StatusFlags = { connection: 'connecting', leader: false, flushing: false, lastError: null, lastSyncAt: null };
  private scheduled = false;
  /** A post of previewed values is scheduled (it does not wait for a running recomputation). */
  private postScheduled = false;
  private running: Promise<void> | null = null;
  private closed = false;
  /** The pending/rejected counts of the sync status, reloaded at most every 250 ms during bursts. */
  private readonly counts: StatusCounts;
  /** Rows this worker just committed, so the next tick need not read them back (see `prime`). */
  private primed = { messages: new Map<string, unknown>(), receipts: new Map<string, unknown>() };
  /** Rows seen lately, for first values without a read (RowCache). */
  private readonly cache = { messages: new RowCache(ROW_CACHE_SIZE), receipts: new RowCache(ROW_CACHE_SIZE) };
  /** Change notifications per table since the hub started: a read is cached only if none came during it. */
  private readonly generation = { messages: 0, receipts: 0 };
  /** Keys whose change notification arrived since the last tick began (`all`: the whole table's). */
  private notified = emptyNotified();
  private readonly onMutated = (parts: ObservabilitySet): void => this.noteMutation(parts);

  constructor(
    private readonly db: ReadSyncDb,
    private readonly userId: string,
    /** Defers the tick and the preview posts to a new task; MessageChannel, not a 4 ms-clamped setTimeout. */
    private readonly schedule: (fn: () => void) => void = nextTask,
  ) {
    this.counts = new StatusCounts(db, () => {
      this.dirty.status = true;
      this.kick();
    });
    Dexie.on('storagemutated', this.onMutated);
  }

  /** Registers the sink; anything pending goes out on the next tick. */
  attach(sink: UpdateSink): void {
    if (typeof sink !== 'function') throw new ValidationError('attach: sink must be a function (a Comlink proxy)');
    this.sink = sink;
    this.kick();
  }

  /** Starts subscriptions; each gets its current value on the sink. */
  subscribe(subs: unknown): void {
    const list = parseSubscribeArgs(subs);
    const ids = new Set<number>();
    for (const { id } of list) {
      if (this.bySub.has(id) || ids.has(id)) throw new ValidationError(`subscribe: subscription id ${id} is already in use`);
      ids.add(id);
    }
    for (const { id, query } of list) {
      const key = queryKey(query);
      let entry = this.byKey.get(key);
      if (!entry) {
        entry = { key, query, subs: new Set(), fresh: true, hasValue: false, value: undefined };
        if (query.kind === 'read-state') entry.messageId = query.messageId;
        this.byKey.set(key, entry);
        if (query.kind === 'read-state') this.readStates.set(query.messageId, entry);
        else this.otherEntries.add(entry);
        this.markFresh(entry);
      } else if (entry.hasValue && query.kind !== 'receipts') {
        this.pending.set(id, { id, value: entry.value });
      }
      entry.subs.add(id);
      this.bySub.set(id, entry);
    }
    this.kick();
  }

  /** Ends subscriptions; a query with no subscription left is released. Unknown ids are ignored. */
  unsubscribe(ids: unknown): void {
    for (const id of parseArgument(UnsubscribeArgsSchema, ids, 'unsubscribe')) {
      const entry = this.bySub.get(id);
      this.pending.delete(id);
      if (!entry) continue;
      this.bySub.delete(id);
      entry.subs.delete(id);
      if (entry.subs.size > 0) continue;
      this.byKey.delete(entry.key);
      if (entry.query.kind === 'read-state') this.readStates.delete(entry.query.messageId);
      else this.otherEntries.delete(entry);
    }
  }

  /**
   * Where a watched message sits (`convId`, `pos`) as its read state was last
   * computed: a hint for range reads of messages on screen (markRead), not
   * the truth (the reader reads the rows themselves).
   */
  positionOf(messageId: string): { convId: string; pos: number } | undefined {
    const m = this.readStates.get(messageId)?.msg;
    return isMessageRow(m) ? { convId: m.convId, pos: m.pos } : undefined;
  }

  /**
   * Hands over rows this worker has just committed, so the next recomputation
   * uses them instead of reading them back (a burst of 10,000 receipts is
   * then read once, not twice). Safe against other writers: a change
   * notification that arrives after priming drops the primed row, and only
   * rows whose own notification already arrived are kept.
   */
  prime(table: 'messages' | 'receipts', rows: readonly unknown[]): void {
    if (this.closed || rows.length === 0) return;
    const dirty = table === 'messages' ? this.dirty.msgIds : this.dirty.receiptIds;
    const map = this.primed[table];
    const keyOf = table === 'messages' ? (r: unknown) => (r as { id: string }).id : (r: unknown) => (r as { messageId: string }).messageId;
    const cache = this.cache[table];
    const notified = this.notified[table];
    for (const r of rows) {
      const key = keyOf(r);
      if (dirty.has(key)) map.set(key, r);
      if (notified.all || notified.keys.has(key)) cache.set(key, r);
    }
  }

  /**
   * Shows receipt updates from the server at once: merged (monotonic) into
   * the receipt state each watched read state was last computed from, so the
   * UI waits neither for the disk write of these receipts nor for earlier
   * writes queued before it. The engine writes the same updates after; that
   * write's notification then recomputes from the store and, receipts being
   * monotonic, finds the same or newer values. Read states not computed yet
   * take the stored path only.
   *
   * The changed values go out at the end of this task, in their own post: not
   * in a tick, which may be waiting for an IndexedDB read queued behind a commit.
   * If the write then fails, the engine calls `unpreview`.
   */
  preview(receipts: readonly MessageReceipt[]): void {
    if (this.closed) return;
    let changed = false;
    for (const r of receipts) {
      const e = this.readStates.get(r.messageId);
      if (!e || e.fresh || !e.hasValue || !isMessageRow(e.msg)) continue;
      const merged = mergeReceipt(isReceiptRow(e.receipt) ? e.receipt : undefined, r);
      if (!merged) continue;
      e.receipt = merged;
      this.updateReadState(e);
      changed = true;
    }
    if (changed) this.schedulePost();
  }

  /**
   * The write of previewed receipts failed: the read states of these
   * messages are read again and show what the store holds, which is what a
   * reload would show (the failure itself reaches the sync status as
   * `lastError`; the receipts come again with the next catch-up, since the
   * stream's cursor did not move).
   */
  unpreview(messageIds: readonly string[]): void {
    if (this.closed) return;
    let relevant = false;
    for (const id of messageIds) {
      if (!this.readStates.has(id)) continue;
      this.dirty.receiptIds.add(id);
      this.dirty.unpreviewed.add(id);
      this.primed.receipts.delete(id);
      relevant = true;
    }
    if (relevant) this.kick();
  }

  /** Updates the connection/flush part of the sync status. */
  setStatusFlags(flags: Partial<StatusFlags>): void {
    const next = { ...this.flags, ...flags };
    if (JSON.stringify(next) === JSON.stringify(this.flags)) return;
    this.flags = next;
    this.dirty.status = true;
    this.kick();
  }

  /** The current connection/flush flags. */
  statusFlags(): StatusFlags {
    return this.flags;
  }

  /** Live subscriptions and the distinct worker-side queries behind them. */
  stats(): { subscriptions: number; queries: number } {
    return { subscriptions: this.bySub.size, queries: this.byKey.size };
  }

  /** Resolves once no recomputation is scheduled or running (tests, close). */
  async idle(): Promise<void> {
    while (this.running || this.scheduled || this.postScheduled || this.counts.scheduled) {
      if (!this.running && !this.scheduled && !this.postScheduled) await this.counts.whenDue();
      else await (this.running ?? new Promise<void>((r) => this.schedule(r)));
    }
  }

  /** Stops listening and drops every subscription. */
  close(): void {
    this.closed = true;
    this.cache.messages.clear();
    this.cache.receipts.clear();
    this.counts.close();
    Dexie.on('storagemutated').unsubscribe(this.onMutated);
    this.bySub.clear();
    this.byKey.clear();
    this.readStates.clear();
    this.otherEntries.clear();
    this.pending.clear();
    this.sink = null;
  }

  private markFresh(entry: Entry): void {
    const q = entry.query;
    if (q.kind === 'read-state') this.dirty.msgIds.add(q.messageId);
    else if (q.kind === 'conversations') this.dirty.conversations = true;
    else if (q.kind === 'messages') this.dirty.lists = true;
    else if (q.kind === 'sync-status') this.dirty.status = true;
  }

  private noteMutation(parts: ObservabilitySet): void {
    if (this.closed) return;
    const changes = changedKeys(parts, this.db.name, TABLES);
    const msgs = changes.get('messages');
    const receipts = changes.get('receipts');
    let relevant = false;
    if (msgs) {
      relevant = true; // message lists and the status counts depend on any message change
      this.generation.messages++;
      noteKeys(this.notified.messages, this.cache.messages, msgs);
      if (msgs.all) {
        this.dirty.allMessages = true;
        this.primed.messages.clear();
      }
      for (const k of msgs.keys) {
        this.primed.messages.delete(k);
        if (this.readStates.has(k)) this.dirty.msgIds.add(k);
      }
      this.dirty.lists = true;
      // Unread counts and last messages.
      this.dirty.conversations = true;
      this.dirty.status = true;
      this.counts.invalidate();
    }
    if (receipts) {
      const stream = this.byKey.has('receipts');
      this.generation.receipts++;
      noteKeys(this.notified.receipts, this.cache.receipts, receipts);
      if (receipts.all) {
        this.dirty.allReceipts = true;
        this.primed.receipts.clear();
      }
      for (const k of receipts.keys) {
        this.primed.receipts.delete(k);
        if (stream || this.readStates.has(k)) this.dirty.receiptIds.add(k);
      }
      relevant ||= receipts.all || this.dirty.receiptIds.size > 0;
    }
    if (changes.has('conversations')) {
      this.dirty.conversations = true;
      // A conversation's coverage decides where its message window starts.
      this.dirty.lists = true;
      relevant = true;
    }
    const outbox = changes.get('outbox');
    // Delivery rows (issue 10.5) are shown nowhere: their comings and goings recompute nothing.
    if (outbox && (outbox.all || someShown(outbox.keys))) {
      // An ack queued or sent: the read states and lists showing it, and the pending count.
      relevant = true;
      if (outbox.all) this.dirty.allAcks = true;
      for (const k of outbox.keys) this.dirty.ackKeys.add(k);
      this.dirty.lists = true;
      // The ack status of a conversation's last message.
      this.dirty.conversations = true;
      this.dirty.status = true;
      this.counts.invalidate();
    }
    const meta = changes.get('meta');
    // Of meta, only my receipt mode is shown (in the sync status); its queued change is an outbox row.
    if (meta && (meta.all || meta.keys.has(META_RECEIPT_MODE))) {
      this.dirty.status = true;
      relevant = true;
    }
    if (relevant) this.kick();
  }

  private kick(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      if (this.running) return void this.running.then(() => this.kick());
      this.running = this.tick().finally(() => (this.running = null));
    });
  }

  /**
   * Posts at the end of the current task: previews made in one task (one
   * WebSocket frame, or several events handed over together) share one post,
   * and the receipt does not wait behind other tasks queued in the worker.
   */
  private schedulePost(): void {
    if (this.postScheduled || this.closed) return;
    this.postScheduled = true;
    queueMicrotask(() => {
      this.postScheduled = false;
      this.post();
    });
  }

  private async tick(): Promise<void> {
    const d = this.dirty;
    const primed = this.primed;
    this.dirty = emptyDirty();
    this.primed = { messages: new Map(), receipts: new Map() };
    this.notified = emptyNotified();
    try {
      await this.compute(d, primed);
    } catch (err) {
      if (this.closed) return;
      // Tell the affected subscribers instead of failing silently; the UI ends those subscriptions.
      const payload = toErrorPayload(toStorageError(err, 'live query'));
      for (const entry of this.entriesFor(d)) this.emitError(entry, payload);
    }
    this.post();
  }

  /**
   * The entries a tick recomputes. A change of named rows looks its read
   * states up by message id (a new read state's id is among them, see
   * markFresh), so a single receipt costs the same with 10 or 10,000 live
   * read states; a change of a whole table, or of queued acks (found by the
   * ack key of each one's message), looks at every entry.
   */
  private entriesFor(d: Dirty): Entry[] {
    if (d.allMessages || d.allReceipts || d.allAcks || d.ackKeys.size > 0) return this.scanEntries(d);
    const states = new Set<Entry>();
    for (const ids of [d.msgIds, d.receiptIds]) {
      for (const id of ids) {
        const e = this.readStates.get(id);
        if (e) states.add(e);
      }
    }
    const out = [...states];
    for (const e of this.otherEntries) if (this.otherDirty(e, d)) out.push(e);
    return out;
  }

  private otherDirty(e: Entry, d: Dirty): boolean {
    const q = e.query;
    if (q.kind === 'messages') return e.fresh || d.lists;
    if (q.kind === 'conversations') return e.fresh || d.conversations;
    if (q.kind === 'sync-status') return e.fresh || d.status;
    return false;
  }

  private scanEntries(d: Dirty): Entry[] {
    const out: Entry[] = [];
    for (const e of this.byKey.values()) {
      const q = e.query;
      if (q.kind === 'read-state') {
        if (e.fresh || d.allMessages || d.allReceipts || d.msgIds.has(q.messageId) || d.receiptIds.has(q.messageId) || this.ackChanged(e, d)) out.push(e);
      } else if (this.otherDirty(e, d)) {
        out.push(e);
      }
    }
    return out;
  }

  private ackChanged(e: Entry, d: Dirty): boolean {
    if (!d.allAcks && d.ackKeys.size === 0) return false;
    const key = ackKeyOf(e);
    return key !== null && (d.allAcks || d.ackKeys.has(key));
  }

  private async compute(d: Dirty, primed: SubscriptionHub['primed']): Promise<void> {
    const entries = this.entriesFor(d);
    const stream = this.byKey.get('receipts');
    const streamIds = stream && !d.allReceipts ? [...d.receiptIds] : [];
    if (entries.length === 0 && streamIds.length === 0) return;
    const states = entries.filter((e) => e.query.kind === 'read-state');
    const needMsg = states.filter((e) => e.fresh || d.allMessages || d.msgIds.has(e.messageId as string));
    const needRc = states.filter((e) => e.fresh || d.allReceipts || d.receiptIds.has(e.messageId as string));
    const rcIds = [...new Set([...needRc.map((e) => e.messageId as string), ...streamIds])];
    const msgIds = needMsg.map((e) => e.messageId as string);
    const others = entries.filter((e) => e.query.kind !== 'read-state');
    // Read back only what this worker did not just hand over, nor has seen since it last changed.
    const msgById = primed.messages;
    const rcById = primed.receipts;
    const msgToRead = fromCache(msgIds, msgById, this.cache.messages);
    const rcToRead = fromCache(rcIds, rcById, this.cache.receipts);
    const gen = { ...this.generation };
    const db = this.db;
    const needMsgSet = new Set(needMsg);
    /** Takes the rows read into the maps and the cache, gives the read states their messages; returns those whose ack must be looked up. */
    const take = (msgRows: readonly unknown[], rcRows: readonly unknown[]): Entry[] => {
      msgToRead.forEach((id, i) => msgById.set(id, msgRows[i]));
      rcToRead.forEach((id, i) => rcById.set(id, rcRows[i]));
      // What was read is the truth unless its table changed meanwhile (the notification may come first).
      if (gen.messages === this.generation.messages) msgToRead.forEach((id, i) => this.cache.messages.set(id, msgRows[i]));
      if (gen.receipts === this.generation.receipts) rcToRead.forEach((id, i) => this.cache.receipts.set(id, rcRows[i]));
      for (const e of needMsg) e.msg = msgById.get(e.messageId as string);
      // Incoming messages I read: 'pending' until the ack's outbox row is gone (see MessageRow).
      return states.filter((e) => ackKeyOf(e) !== null && (needMsgSet.has(e) || this.ackChanged(e, d)));
    };
    const lookUpAcks = async (check: readonly Entry[]): Promise<void> => {
      if (check.length === 0) return;
      const queued = await loadQueuedAcks(db, check.map((e) => e.msg as MessageRow));
      for (const e of check) e.queued = queued.get(e.messageId as string);
    };
    let otherValues: unknown[] = [];
    if (msgToRead.length === 0 && rcToRead.length === 0 && others.length === 0) {
      // All in memory (a receipt this worker just stored, say): no transaction, unless an ack must be looked up.
      const check = take([], []);
      if (check.length > 0) await db.transaction('r', [db.outbox], () => lookUpAcks(check));
    } else {
      otherValues = await db.transaction('r', [db.messages, db.receipts, db.conversations, db.outbox, db.meta], async () => {
        const [msgRows, rcRows, values] = await Promise.all([
          msgToRead.length > 0 ? readMany(db.messages, msgToRead) : [],
          rcToRead.length > 0 ? readMany(db.receipts, rcToRead) : [],
          Promise.all(others.map((e) => this.load(e.query))),
        ]);
        await lookUpAcks(take(msgRows, rcRows));
        return values;
      });
    }
    if (this.closed) return;
    for (const e of needRc) {
      const read = rcById.get(e.messageId as string);
      e.receipt = d.unpreviewed.has(e.messageId as string) ? read : newerReceipt(e.receipt, read);
    }
    for (const e of states) this.updateReadState(e);
    others.forEach((e, i) => this.updateValue(e, otherValues[i]));
    if (stream && streamIds.length > 0) {
      const batch = streamIds.map((id) => rcById.get(id)).filter(isReachedAnyone).map(withDelivered);
      if (batch.length > 0) for (const id of stream.subs) this.emitBatch(id, batch);
    }
  }

  private load(q: Query): Promise<unknown> {
    if (q.kind === 'messages') return loadMessageWindow(this.db, q.convId, q.limit ?? DEFAULT_MESSAGES_LIMIT);
    if (q.kind === 'conversations') return loadConversationSummaries(this.db);
    // The receipt mode is two key reads: not throttled like the counts, so a switch shows at once.
    return Promise.all([this.counts.get(), loadReceiptMode(this.db), loadQueuedSettings(this.db)]).then(
      ([counts, receiptMode, queued]): SyncStatus => ({ ...this.flags, ...counts, receiptMode, receiptModePending: queued !== undefined }),
    );
  }

  private updateReadState(e: Entry): void {
    e.fresh = false;
    const m = e.msg;
    if (m !== undefined && !isMessageRow(m)) {
      const err = new StorageError(`The stored row of message ${e.messageId} is damaged; it was not shown`);
      return this.emitError(e, toErrorPayload(err));
    }
    const value: ReadState | null = m === undefined ? null : toReadState(m as MessageRow, isReceiptRow(e.receipt) ? e.receipt : undefined, this.userId, e.queued);
    if (e.hasValue && readStateEquals(e.value as ReadState | null, value)) return;
    this.emitValue(e, value);
  }

  private updateValue(e: Entry, value: unknown): void {
    e.fresh = false;
    const json = JSON.stringify(value);
    if (e.hasValue && json === e.json) return;
    e.json = json;
    this.emitValue(e, value);
  }

  private emitValue(e: Entry, value: unknown): void {
    e.hasValue = true;
    e.value = value;
    for (const id of e.subs) this.pending.set(id, { id, value });
  }

  private emitError(e: Entry, error: ErrorPayload): void {
    e.fresh = false;
    e.hasValue = false;
    for (const id of e.subs) this.pending.set(id, { id, error });
  }

  private emitBatch(id: number, batch: ReceiptRow[]): void {
    const prev = this.pending.get(id)?.value as ReceiptRow[] | undefined;
    this.pending.set(id, { id, value: prev ? [...prev, ...batch] : batch });
  }

  private post(): void {
    if (!this.sink || this.pending.size === 0 || this.closed) return;
    const batch = packUpdates(this.pending.values(), (u) => this.bySub.get(u.id)?.query.kind === 'read-state');
    this.pending.clear();
    try {
      const r = this.sink(batch) as Promise<unknown> | undefined;
      // A sink whose page went away rejects; its subscriptions die with it.
      if (r && typeof r.then === 'function') r.then(undefined, () => undefined);
    } catch {
      this.sink = null;
    }
  }
}
