import { randomBytes } from 'node:crypto';
import type {
  Ack,
  AckBatchRequest,
  AckBatchResponse,
  Conversation,
  GroupType,
  HistoryQueryRequest,
  HistoryQueryResponse,
  Limits,
  MemberPageRequest,
  MemberPageResponse,
  Message,
  PullMessagesRequest,
  PullMessagesResponse,
  ReceiptQueryRequest,
  ReceiptQueryResponse,
  SendMessagesRequest,
  SendMessagesResponse,
  SendResult,
  ServerConfig,
  MyReadsEvent,
  ReadPositionTuple,
  ServerEvent,
  SettingsRequest,
  SettingsResponse,
  SyncBackend,
} from '../../protocol';
import { DEFAULT_LIMITS, DEFAULT_RECEIPT_GROUP_TYPES, FEATURE_DELIVERY, FEATURE_READ_POSITIONS, MAX_DELIVERIES_PER_BATCH, PROTOCOL_VERSION, ReceiptRuleError, ValidationError } from '../../protocol';
import type { ConversationRecord, MessageRecord, Store } from '../store/Store';
import { applyAcks } from './applyAcks';
import { applyPositions } from './applyPositions';
import { applyDeliveries } from './countReads';
import { EventHub } from './EventHub';
import type { SubscribeOptions } from './EventHub';
import { GroupAdmin } from './GroupAdmin';
import { memberPage } from './memberPage';
import { historyPage, pullMessages } from './pullMessages';
import { MessageMetaCache } from './MessageMetaCache';
import { toMessage } from './toMessage';
import { toReceipt } from './toReceipt';

export { toMessage } from './toMessage';

/** Own reads per pull (`myReads`); more come with the next pull. */
export const MY_READS_PAGE = 1000;
/** Read positions per ack batch (one per conversation is the usual case). */
export const MAX_POSITIONS_PER_BATCH = 100;

/** Options of the rules core. */
export interface SyncCoreOptions {
  /** Group types whose messages may request receipts. Default: work, public, meeting. */
  receiptGroupTypes?: readonly GroupType[];
  /** Wire limits, announced to clients and enforced. */
  limits?: Partial<Limits>;
  /**
   * Signs member-page cursors. Default: random per process (cursors then die
   * with the process). Servers sharing a database share it, so a cursor made
   * by one works on every other.
   */
  secret?: string;
  /** Server clock (ms). */
  now?: () => number;
  /** How long a replayed ack batchId still returns its first result. Default 7 days. */
  batchRetentionMs?: number;
  /**
   * Receipt events are coalesced per message over this window (ms) before
   * they go to the sender. 0 (default) = until the end of the current
   * event-loop turn (what commits in one turn goes in one event).
   */
  receiptFlushMs?: number;
  /** Errors of background work (event fan-out); default: printed with console.error. */
  onError?: (err: unknown) => void;
}


/**
 * The server's rules (SPEC section 2) over a `Store`: the one implementation
 * behind the HTTP server and the in-process `MemoryTransport`. Each method
 * acts for an authenticated `userId` on an already-validated request.
 */
export class SyncCore implements SyncBackend {
  readonly store: Store;
  readonly config: ServerConfig;
  /** Groups, c2c conversations, join and leave (for the demo, tests and embedding apps). */
  readonly admin: GroupAdmin;
  private readonly hub: EventHub;
  private readonly metas: MessageMetaCache;
  private readonly receiptTypes: ReadonlySet<GroupType>;
  private readonly secret: string;
  private readonly now: () => number;
  private readonly batchRetentionMs: number;
  private readonly onError: (err: unknown) => void;
  private lastPrune = 0;

  constructor(store: Store, options: SyncCoreOptions = {}) {
    this.store = store;
    this.receiptTypes = new Set(options.receiptGroupTypes ?? DEFAULT_RECEIPT_GROUP_TYPES);
    this.config = {
      protocolVersion: PROTOCOL_VERSION,
      receiptGroupTypes: [...this.receiptTypes],
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      features: [FEATURE_READ_POSITIONS, FEATURE_DELIVERY],
    };
    this.secret = options.secret ?? randomBytes(32).toString('hex');
    this.now = options.now ?? Date.now;
    this.batchRetentionMs = options.batchRetentionMs ?? 7 * 24 * 3600_000;
    this.metas = new MessageMetaCache();
    this.onError = options.onError ?? ((err: unknown) => console.error('readsync: background work failed:', err));
    this.hub = new EventHub(store, () => this.getConfig(), (rec, viewer) => this.viewConversation(rec, viewer), options.receiptFlushMs ?? 0, this.onError);
    this.admin = new GroupAdmin(store, this.hub, (rec, viewer) => this.viewConversation(rec, viewer), this.now);
  }

  /**
   * Starts what needs a round trip before serving: listening to a shared
   * store's change feed. Single-process stores need nothing; `createSyncServer`
   * calls it. Event subscribers wait for it.
   */
  start(): Promise<void> {
    return this.hub.start();
  }

  getConfig(): ServerConfig {
    return structuredClone(this.config);
  }

  /** Whether messages in `rec` may request receipts. */
  receiptsEnabled(rec: Pick<ConversationRecord, 'type' | 'groupType'>): boolean {
    return rec.type === 'c2c' || (rec.groupType !== null && this.receiptTypes.has(rec.groupType));
  }

  /** The conversation as `viewerId` sees it (c2c: named after the peer). */
  viewConversation(rec: ConversationRecord, viewerId: string): Conversation {
    const conv: Conversation = {
      id: rec.id,
      type: rec.type,
      name: rec.c2cUsers ? (rec.c2cUsers[0] === viewerId ? rec.c2cUsers[1] : rec.c2cUsers[0]) : rec.name,
      memberCount: rec.memberCount,
      receiptsEnabled: this.receiptsEnabled(rec),
      seq: rec.seq,
    };
    if (rec.groupType) conv.groupType = rec.groupType;
    return conv;
  }

  async sendMessages(userId: string, req: SendMessagesRequest): Promise<SendMessagesResponse> {
    this.checkBatch(req.messages.length, this.config.limits.maxMessageBatch, 'messages');
    const sentAt = this.now();
    const { results, fresh } = await this.store.transaction(async (tx) => {
      // Collected here, not outside: a store may run this function again (after a deadlock).
      const fresh = new Map<string, Message[]>();
      // Conversations are read (and on a shared store locked) in id order before anything is
      // written, so concurrent sends to the same conversations cannot deadlock.
      const convs = new Map<string, ConversationRecord | undefined>();
      for (const convId of [...new Set(req.messages.map((m) => m.convId))].sort()) convs.set(convId, await tx.getConversation(convId));
      const results: SendResult[] = [];
      for (const m of req.messages) {
        const existing = await tx.getMessage(m.id);
        if (existing) {
          const same = existing.senderId === userId && existing.convId === m.convId && existing.text === m.text && existing.needReadReceipt === m.needReadReceipt;
          results.push(same ? { id: m.id, status: 'duplicate', message: toMessage(existing) } : { id: m.id, status: 'rejected', reason: 'conflict' });
          continue;
        }
        const conv = convs.get(m.convId);
        if (!conv) {
          results.push({ id: m.id, status: 'rejected', reason: 'not-found' });
          continue;
        }
        if (!(await tx.currentSpan(conv.id, userId))) {
          results.push({ id: m.id, status: 'rejected', reason: 'not-member' });
          continue;
        }
        if (m.needReadReceipt && !this.receiptsEnabled(conv)) {
          results.push({ id: m.id, status: 'rejected', reason: 'receipts-disabled' });
          continue;
        }
        const rec: MessageRecord = {
          id: m.id,
          convId: conv.id,
          convType: conv.type,
          senderId: userId,
          text: m.text,
          needReadReceipt: m.needReadReceipt,
          seq: conv.seq + 1,
          sentAt,
          // Members at send time minus the sender: fixed now, so later joins and leaves do not move it.
          audienceCount: Math.max(0, conv.memberCount - 1),
          readCount: 0,
          deliveredCount: 0,
          lastReadAt: 0,
          lastAckSeq: 0,
        };
        await tx.insertMessage(rec);
        conv.seq = rec.seq;
        await tx.updateConversation(conv.id, { seq: rec.seq, memberCount: conv.memberCount });
        const message = toMessage(rec);
        let list = fresh.get(conv.id);
        if (!list) fresh.set(conv.id, (list = []));
        list.push(message);
        results.push({ id: m.id, status: 'accepted', message });
      }
      return { results, fresh };
    });
    for (const [convId, messages] of fresh) this.hub.messages(convId, messages);
    return { type: 'send-messages-result', results };
  }

  async pullMessages(userId: string, req: PullMessagesRequest): Promise<PullMessagesResponse> {
    // Taken before the messages are read: a read committed meanwhile comes again after it (harmless).
    const start = req.myReadsAfter ?? (await this.store.lastAckSeq());
    const res = await pullMessages(this.store, userId, req, (rec) => this.viewConversation(rec, userId));
    await this.withMyReadAt(userId, res.messages);
    const positions = await this.store.readPositionsOf(
      userId,
      res.conversations.map((c) => c.id),
    );
    res.readPositions = positions.map((p): ReadPositionTuple => [p.convId, p.seq, p.readAt]);
    const reads = req.myReadsAfter === undefined ? [] : await this.store.readsByUserAfter(userId, start, MY_READS_PAGE + 1);
    const page = reads.slice(0, MY_READS_PAGE);
    res.settings = { receipts: await this.store.getReceiptMode(userId) };
    res.myReads = {
      reads: page.map((r): [string, number] => [r.messageId, r.readAt]),
      cursor: page[page.length - 1]?.ackSeq ?? start,
      hasMore: reads.length > MY_READS_PAGE,
    };
    return res;
  }

  async history(userId: string, req: HistoryQueryRequest): Promise<HistoryQueryResponse> {
    const res = await historyPage(this.store, userId, req);
    await this.withMyReadAt(userId, res.messages);
    return res;
  }

  /** Sets `readAt` on the messages `userId` has read (one lookup for the page). */
  private async withMyReadAt(userId: string, messages: Message[]): Promise<void> {
    const others = messages.filter((m) => m.senderId !== userId && m.needReadReceipt).map((m) => m.id);
    if (others.length === 0) return;
    const readAt = new Map((await this.store.readsOf(userId, others)).map((r) => [r.messageId, r.readAt]));
    for (const m of messages) {
      const t = readAt.get(m.id);
      if (t !== undefined) m.readAt = t;
    }
  }

  async ackBatch(userId: string, req: AckBatchRequest): Promise<AckBatchResponse> {
    this.checkBatch(req.acks.length, this.config.limits.maxAckBatch, 'acks');
    this.checkBatch(req.positions?.length ?? 0, MAX_POSITIONS_PER_BATCH, 'positions');
    this.checkBatch(req.deliveries?.length ?? 0, MAX_DELIVERIES_PER_BATCH, 'deliveries');
    const { response, changes, mine } = await this.store.transaction(async (tx) => {
      // On a shared store this also makes a concurrent request with the same batch id wait for ours.
      const replay = await tx.getBatchResult(userId, req.batchId);
      if (replay) return { response: replay, changes: [], mine: null };
      const applied = await applyAcks(tx, userId, req.acks, this.metas);
      const res: AckBatchResponse = { type: 'ack-batch-result', batchId: req.batchId, results: applied.results };
      const changes = applied.changes;
      // What the user's other devices are told: the reads that went in, the positions that moved.
      const mine: MyReadsEvent = { type: 'my-reads', reads: [], positions: [] };
      for (let i = 0; i < req.acks.length; i++) {
        const ack = req.acks[i] as Ack;
        if (applied.results[i]?.s === 'accepted') mine.reads.push([ack.m, ack.t]);
      }
      if (req.positions && req.positions.length > 0) {
        const pos = await applyPositions(tx, userId, req.positions);
        res.positions = pos.results;
        changes.push(...pos.changes);
        mine.positions = pos.moved;
      }
      if (req.deliveries && req.deliveries.length > 0) {
        const del = await applyDeliveries(tx, userId, req.deliveries);
        res.deliveries = del.results;
        changes.push(...del.changes);
      }
      await tx.putBatchResult(userId, req.batchId, res, this.now());
      return { response: res, changes, mine };
    });
    for (const c of changes) this.hub.receiptChanged(c.senderId, c.messageId);
    if (mine && (mine.reads.length > 0 || mine.positions.length > 0)) this.hub.toUser(userId, mine);
    // Bounded retention, at most once an hour, after the answer is known (never in its way).
    void this.pruneBatches().catch(this.onError);
    return response;
  }

  async queryReceipts(userId: string, req: ReceiptQueryRequest): Promise<ReceiptQueryResponse> {
    this.checkBatch(req.messageIds.length, this.config.limits.maxReceiptQuery, 'messageIds');
    const res: ReceiptQueryResponse = { type: 'receipt-query-result', receipts: [], rejected: [] };
    const found = new Map((await this.store.getMessages(req.messageIds)).map((m) => [m.id, m]));
    for (const id of req.messageIds) {
      const m = found.get(id);
      if (!m) res.rejected.push({ m: id, r: 'not-found' });
      else if (m.senderId !== userId) res.rejected.push({ m: id, r: 'not-sender' });
      else if (!m.needReadReceipt) res.rejected.push({ m: id, r: 'receipt-not-requested' });
      else res.receipts.push(toReceipt(m));
    }
    return res;
  }

  async memberPage(userId: string, req: MemberPageRequest): Promise<MemberPageResponse> {
    const msg = await this.store.getMessage(req.messageId);
    if (!msg) throw new ReceiptRuleError('not-found', `message ${req.messageId} not found`, { status: 404 });
    if (msg.senderId !== userId) throw new ReceiptRuleError('not-sender', 'only the sender may list who read a message', { status: 403 });
    if (msg.convType !== 'group') throw new ValidationError('member pages exist for group messages only');
    if (!msg.needReadReceipt) throw new ReceiptRuleError('receipt-not-requested', 'the message was sent without needReadReceipt', { status: 409 });
    const count = Math.min(req.count, this.config.limits.maxMemberPage);
    return { type: 'member-page-result', page: await memberPage(this.store, this.secret, msg, req.filter, req.cursor ?? null, count, req.at) };
  }

  async settings(userId: string, req: SettingsRequest): Promise<SettingsResponse> {
    if (req.receipts !== undefined) {
      const mode = req.receipts;
      const before = await this.store.transaction(async (tx) => {
        const was = await tx.getReceiptMode(userId);
        if (was !== mode) await tx.putReceiptMode(userId, mode);
        return was;
      });
      if (before !== mode) this.hub.toUser(userId, { type: 'settings', settings: { receipts: mode } });
      return { type: 'settings-result', settings: { receipts: mode } };
    }
    return { type: 'settings-result', settings: { receipts: await this.store.getReceiptMode(userId) } };
  }

  subscribe(userId: string, since: number | null, listener: (event: ServerEvent) => void, options?: SubscribeOptions): () => void {
    return this.hub.subscribe(userId, since, listener, options);
  }

  /** Delivers coalesced receipt events now instead of at the end of the coalescing window. */
  flushEvents(): Promise<void> {
    return this.hub.flush();
  }

  /** Stops event delivery (timers, subscribers, the store's change feed). The store is the caller's to close. */
  close(): Promise<void> {
    return this.hub.close();
  }

  private checkBatch(n: number, max: number, what: string): void {
    if (n > max) throw new ValidationError(`${what}: at most ${max} per request (got ${n})`, { limit: max });
  }

  private async pruneBatches(): Promise<void> {
    const now = this.now();
    if (now - this.lastPrune < 3600_000) return;
    this.lastPrune = now;
    await this.store.pruneBatchResults(now - this.batchRetentionMs);
  }
}
