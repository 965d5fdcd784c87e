import * as v from 'valibot';
import {
  IdSchema,
  MessageSchema,
  ReadSyncError,
  ReceiptModeSchema,
  ReceiptRuleError,
  ValidationError,
  DEFAULT_LIMITS,
  FEATURE_DELIVERY,
  FEATURE_READ_POSITIONS,
  newMessageId,
  parseArgument,
  toErrorPayload,
  type Conversation,
  type ConvType,
  type ErrorPayload,
  type Limits,
  type ReadMemberPage,
  type ReceiptMode,
  type ServerConfig,
} from '../src/protocol';
import type {
  EnvironmentSignal,
  FlushOptions,
  LoadOlderOptions,
  LocalMessage,
  MarkConversationReadOptions,
  MarkConversationReadResult,
  MarkReadResult,
  MemberPageOptions,
  MessageRef,
  OlderMessages,
  Query,
  ReadReceiptResult,
  SendEachResult,
  SendMessageInput,
  UpdateBatch,
  SyncStatus,
  WorkerApi,
} from '../src/bridge';
import type { MessageRow, ReadSyncDb } from './db/ReadSyncDb';
import { Flusher } from './outbox/Flusher';
import type { FlushScheduler, FlushStatus, FlusherDeps } from './outbox/FlusherContract';
import type { EventStreamStatus, Transport } from './transport/Transport';
import { SubscriptionHub } from './SubscriptionHub';
import { SyncEngine } from './SyncEngine';
import { enqueueMarkRead } from './store/enqueueMarkRead';
import { enqueueMessages, type SendItem } from './store/enqueueMessage';
import { SendQueue } from './store/SendQueue';
import { META_USER, loadConfig } from './store/meta';
import { toLocalMessage } from './store/readState';
import { withStorage } from './store/storageErrors';
import { storeServerMessages } from './store/storeServerData';
import { loadConversations, loadCounts } from './subscriptions/loadViews';
import {
  DEFAULT_HISTORY_WINDOW,
  EnvironmentSchema,
  HistoryWindowSchema,
  LoadOlderSchema,
  MarkConversationReadSchema,
  SendInputSchema,
  SignOutSchema,
  TokenSchema,
  parseRefs,
} from './apiSchemas';
import { enqueueConversationRead } from './store/readPositions';
import { enqueueReceiptMode } from './store/receiptMode';
import { HistoryLoader } from './HistoryLoader';

/** Messages per loadOlder page when the caller names no count. */
const DEFAULT_OLDER_COUNT = 50;
import { clearRejected } from './store/clearRejected';
import { ReceiptQueries } from './ReceiptQueries';
import { LastErrors, type WorkKind } from './LastErrors';

/** How a ReadSyncWorker is put together. Everything but db, transport and userId has a default. */
export interface ReadSyncWorkerOptions {
  db: ReadSyncDb;
  transport: Transport;
  userId: string;
  /** The outbox flusher, or a factory given its dependencies. Default: `new Flusher(deps)`. */
  flusher?: FlushScheduler | ((deps: FlusherDeps) => FlushScheduler);
  /** Extra flusher dependencies (leader lock, kick channel) for the default factory. */
  flusherDeps?: Partial<Pick<FlusherDeps, 'lock' | 'kick'>>;
  flush?: FlushOptions;
  /** Clock (ms) and randomness, injectable for fake timers and seeded tests. */
  now?: () => number;
  random?: () => number;
  /** How the subscription hub defers work to the next tick. Default: a new task via MessageChannel (`nextTask`). */
  schedule?: (fn: () => void) => void;
  /** Run the sync engine (event stream, catch-up). Default true. */
  sync?: boolean;
  /** Newest messages per conversation a sync brings (1-1,000, default 100); older ones come with loadOlder. */
  historyWindow?: number;
}

/**
 * The worker's composition root and the `WorkerApi` it exposes over Comlink:
 * owns the database, the subscription hub, the sync engine and the flusher.
 * Every rejection is a `ReadSyncError` with a stable `code`; IndexedDB failures
 * become `storage` errors and leave the stored queue intact.
 */
export class ReadSyncWorker implements WorkerApi {
  readonly db: ReadSyncDb;
  readonly userId: string;
  readonly hub: SubscriptionHub;
  readonly engine: SyncEngine;
  readonly flusher: FlushScheduler;
  private readonly transport: Transport;
  private readonly now: () => number;
  private readonly receiptQueries: ReceiptQueries;
  private readonly history: HistoryLoader;
  private readonly historyWindow: number;
  private readonly sends: SendQueue;
  private config: ServerConfig | null = null;
  private starting: Promise<void> | null = null;
  private closed = false;
  private lastStamp = 0;
  private flushStatus: FlushStatus = { connection: 'connecting', leader: false, flushing: false, lastError: null, lastSyncAt: null };
  private streamStatus: EventStreamStatus = 'connecting';
  /** What failed last, per kind of work (see LastErrors). */
  private readonly errors = new LastErrors();
  /** Set while the server refuses our token: nothing is sent until `setToken`. */
  private authError: ErrorPayload | null = null;
  private lastFlushError: ErrorPayload | null = null;
  private onAuthRefused: ((error: ErrorPayload) => void) | null = null;
  private readonly runSync: boolean;

  constructor(options: ReadSyncWorkerOptions) {
    this.db = options.db;
    this.userId = parseArgument(IdSchema, options.userId, 'userId');
    this.transport = options.transport;
    this.now = options.now ?? Date.now;
    this.runSync = options.sync ?? true;
    this.historyWindow = options.historyWindow === undefined ? DEFAULT_HISTORY_WINDOW : parseArgument(HistoryWindowSchema, options.historyWindow, 'historyWindow');
    this.hub = new SubscriptionHub(this.db, this.userId, options.schedule);
    const deps: FlusherDeps = {
      db: this.db,
      transport: this.transport,
      userId: this.userId,
      limits: () => this.limits(),
      now: this.now,
      onStatus: (s) => {
        this.flushStatus = s;
        // React to a new refusal only (the same lastError stays in every later status until a success).
        if (s.lastError !== this.lastFlushError) {
          this.lastFlushError = s.lastError;
          if (s.lastError === null) this.errors.succeed('flush');
          else if (isAuthFailure(s.lastError)) this.needsAuth(s.lastError);
          else this.errors.fail('flush', s.lastError);
        }
        this.publishStatus();
      },
      onStored: (table, rows) => this.hub.prime(table, rows),
      ...options.flusherDeps,
    };
    if (options.flush) deps.options = options.flush;
    if (options.random) deps.random = options.random;
    const f = options.flusher;
    this.flusher = f === undefined ? new Flusher(deps) : typeof f === 'function' ? f(deps) : f;
    this.engine = new SyncEngine({
      db: this.db,
      transport: this.transport,
      userId: this.userId,
      now: this.now,
      limits: () => this.limits(),
      historyWindow: () => this.historyWindow,
      onConfig: (c) => {
        this.config = c;
        // Read positions and deliveries wait for a server announcing them: a config that does may free them.
        if (c.features?.includes(FEATURE_READ_POSITIONS) || c.features?.includes(FEATURE_DELIVERY)) this.flusher.notifyEnqueued();
      },
      onStreamStatus: (s) => {
        this.streamStatus = s;
        if (s === 'open') this.flusher.noteConnection?.(true);
        if (s === 'unauthorized') {
          this.needsAuth({ name: 'AuthError', code: 'unauthenticated', message: 'the server ended the event stream: the token expired', status: 401 });
        }
        this.publishStatus();
      },
      onError: (err) => this.noteError('sync', err),
      onStored: (table, rows) => this.hub.prime(table, rows),
      onDeliveryQueued: () => this.flusher.notifyEnqueued(),
      isSending: (id) => this.flusher.isSending?.(id) ?? false,
      ackedHere: (id) => this.flusher.ackedHere?.(id) ?? false,
      onReceipts: (receipts) => this.hub.preview(receipts),
      onReceiptsFailed: (receipts) => this.hub.unpreview(receipts.map((r) => r.messageId)),
      onSynced: () => this.noteSuccess('sync'),
    });
    this.sends = new SendQueue(
      (calls) => withStorage('sendMessage', () => enqueueMessages(this.db, calls, this.userId, (item, conv) => this.checkSend(item, conv))),
      () => this.flusher.notifyEnqueued(),
    );
    this.history = new HistoryLoader({
      db: this.db,
      transport: this.transport,
      userId: this.userId,
      now: this.now,
      limits: () => this.limits(),
      onNetworkError: (err) => this.noteError('query', err),
      onSuccess: () => this.noteSuccess('query'),
      onStored: (table, rows) => this.hub.prime(table, rows),
      onDeliveryQueued: () => this.flusher.notifyEnqueued(),
    });
    this.receiptQueries = new ReceiptQueries({
      db: this.db,
      transport: this.transport,
      userId: this.userId,
      now: this.now,
      limits: () => this.limits(),
      onNetworkError: (err) => this.noteError('query', err),
      onSuccess: () => this.noteSuccess('query'),
      onStored: (table, rows) => this.hub.prime(table, rows),
    });
  }

  /** Opens the database (checking it belongs to this user), then starts the flusher and the sync engine. Idempotent. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      await withStorage('open database', async () => {
        await this.db.open();
        const owner = await this.db.meta.get(META_USER);
        if (owner && owner.value !== this.userId) {
          throw new ValidationError(`database ${this.db.name} belongs to another user (${String(owner.value)})`);
        }
        if (!owner) await this.db.meta.put({ key: META_USER, value: this.userId });
        this.config = (await loadConfig(this.db)) ?? this.config;
      });
      await this.flusher.start();
      if (this.runSync && !this.closed) await this.engine.start();
    })();
    return this.starting;
  }

  /** The wire limits of the last known server config, or the defaults. */
  limits(): Limits {
    return this.config?.limits ?? DEFAULT_LIMITS;
  }

  async attach(sink: (batch: UpdateBatch) => void, onAuthRefused?: (error: ErrorPayload) => void): Promise<void> {
    this.assertOpen();
    this.hub.attach(sink);
    if (onAuthRefused) {
      this.onAuthRefused = onAuthRefused;
      // Refused before the client attached (e.g. at start-up): tell it now.
      if (this.authError) this.signalAuthRefused(this.authError);
    }
  }

  async subscribe(subs: { id: number; query: Query }[]): Promise<void> {
    this.assertOpen();
    this.hub.subscribe(subs);
  }

  async unsubscribe(ids: number[]): Promise<void> {
    if (this.closed) return;
    this.hub.unsubscribe(ids);
  }

  async sendMessage(input: SendMessageInput): Promise<LocalMessage> {
    await this.ready();
    const args = parseArgument(SendInputSchema, input, 'sendMessage');
    const [row] = await this.sends.send([this.sendItem(args)]);
    return toLocalMessage(row as MessageRow);
  }

  async sendMessages(inputs: SendMessageInput[]): Promise<LocalMessage[]> {
    await this.ready();
    // Every item is checked before anything is stored: a bad one refuses the whole call.
    const list = parseArgument(v.array(SendInputSchema), inputs, 'sendMessages');
    if (list.length === 0) return [];
    const rows = await this.sends.send(list.map((args) => this.sendItem(args)));
    return rows.map((row) => toLocalMessage(row));
  }

  async sendMessageEach(inputs: SendMessageInput[]): Promise<SendEachResult[]> {
    await this.ready();
    if (!Array.isArray(inputs)) throw new ValidationError('sendMessageEach: expects an array of messages');
    // Each input is its own sendMessage call: checked, stamped and queued in order, stored or refused
    // alone (SendQueue commits the waiting calls together and answers each on its own).
    const calls = inputs.map((input: unknown) => {
      try {
        return this.sends.send([this.sendItem(parseArgument(SendInputSchema, input, 'sendMessage'))]);
      } catch (err) {
        return Promise.reject(err);
      }
    });
    const settled = await Promise.allSettled(calls);
    return settled.map((s): SendEachResult => (s.status === 'fulfilled' ? { message: toLocalMessage(s.value[0] as MessageRow) } : { error: toErrorPayload(s.reason) }));
  }

  async receiveMessages(messages: unknown): Promise<void> {
    await this.ready();
    const list = parseArgument(v.array(MessageSchema), messages, 'receiveMessages');
    // Any messages, from any channel: a delivery range per message (merged where they touch).
    const stored = await withStorage('receiveMessages', () => storeServerMessages(this.db, list, this.now(), this.userId));
    this.hub.prime('messages', stored.rows);
    if (stored.deliveryQueued) this.flusher.notifyEnqueued();
  }

  async markRead(refs: MessageRef[]): Promise<MarkReadResult> {
    await this.ready();
    const ids = parseRefs(refs, 'markRead');
    const { result, rows } = await withStorage('markRead', () => enqueueMarkRead(this.db, ids, this.userId, Math.floor(this.now()), (id) => this.hub.positionOf(id)));
    this.hub.prime('messages', rows);
    if (result.queued > 0) this.flusher.notifyEnqueued();
    return result;
  }

  async markConversationRead(convId: string, options: MarkConversationReadOptions = {}): Promise<MarkConversationReadResult> {
    await this.ready();
    const id = parseArgument(IdSchema, convId, 'markConversationRead: convId');
    const opts = parseArgument(MarkConversationReadSchema, options ?? {}, 'markConversationRead options');
    const upTo = opts.upTo === undefined ? undefined : (parseRefs([opts.upTo], 'markConversationRead: upTo')[0] as string);
    const { result, rows, queued } = await withStorage('markConversationRead', () => enqueueConversationRead(this.db, id, upTo, Math.floor(this.now())));
    this.hub.prime('messages', rows);
    if (queued) this.flusher.notifyEnqueued();
    return result;
  }

  async setReceiptMode(mode: ReceiptMode): Promise<void> {
    await this.ready();
    const m = parseArgument(ReceiptModeSchema, mode, 'setReceiptMode: mode');
    await withStorage('setReceiptMode', () => enqueueReceiptMode(this.db, m, Math.floor(this.now())));
    this.flusher.notifyEnqueued();
  }

  async getReadReceipts(refs: MessageRef[]): Promise<ReadReceiptResult[]> {
    await this.ready();
    return this.receiptQueries.receipts(parseRefs(refs, 'getReadReceipts'));
  }

  async getReadMembers(ref: MessageRef, options: MemberPageOptions): Promise<ReadMemberPage> {
    await this.ready();
    const [id] = parseRefs([ref], 'getReadMembers');
    return this.receiptQueries.members(id as string, options);
  }

  async getConversations(): Promise<Conversation[]> {
    await this.ready();
    return withStorage('getConversations', () => loadConversations(this.db));
  }

  async loadOlder(convId: string, options: LoadOlderOptions = {}): Promise<OlderMessages> {
    await this.ready();
    const id = parseArgument(IdSchema, convId, 'loadOlder: convId');
    const opts = parseArgument(LoadOlderSchema, options ?? {}, 'loadOlder options');
    const before = opts.before === undefined ? undefined : (parseRefs([opts.before], 'loadOlder: before')[0] as string);
    return this.history.loadOlder(id, opts.count ?? DEFAULT_OLDER_COUNT, before);
  }

  async setEnvironment(signal: EnvironmentSignal): Promise<void> {
    this.assertOpen();
    const s = parseArgument(EnvironmentSchema, signal, 'setEnvironment');
    if (s.online !== undefined) this.flusher.setOnline(s.online);
    if (s.visible !== undefined) this.flusher.setVisible(s.visible);
    if ((s.online === true || s.visible === true) && this.runSync && this.starting && !this.authError) {
      // A stream the server evicted (too many of this user's) comes back when its user looks at it again.
      if (this.streamStatus === 'evicted') void this.engine.restart();
      else void this.engine.catchUp();
    }
  }

  async flush(): Promise<void> {
    await this.ready();
    await this.flusher.flush();
  }

  async clearRejected(): Promise<void> {
    await this.ready();
    await withStorage('clearRejected', () => clearRejected(this.db));
    // The flusher's own error stays until a flush succeeds; the others are dismissed with the rejected items.
    this.errors.succeed('sync');
    this.errors.succeed('query');
    this.publishStatus();
  }

  async stats(): Promise<{ subscriptions: number; queries: number }> {
    return this.hub.stats();
  }

  /**
   * Replaces the bearer token: later requests and the event stream use it.
   * If the server had refused the old one, the stream reopens, a catch-up
   * runs and the kept queue flushes.
   */
  async setToken(token: string): Promise<void> {
    this.assertOpen();
    const t = parseArgument(TokenSchema, token, 'setToken');
    this.transport.setToken?.(t);
    const wasRefused = this.authError !== null;
    this.authError = null;
    this.publishStatus();
    if (!wasRefused) return;
    if (this.runSync && this.starting) await this.engine.restart();
    this.flusher.notifyEnqueued();
  }

  /**
   * Signs this user out of this worker: stops sync and flushing, closes the
   * database and, with `wipe`, deletes it (other tabs of this user lose their
   * database too: sign them out as well). Resolves with what was still unsent.
   */
  async signOut(options: { wipe?: boolean } = {}): Promise<{ wiped: boolean; unsentAcks: number; unsentMessages: number }> {
    const wipe = parseArgument(SignOutSchema, options, 'signOut').wipe ?? false;
    await this.ready();
    const counts = await withStorage('signOut', () => loadCounts(this.db));
    await this.close();
    if (wipe) await withStorage('signOut: delete database', () => this.db.delete());
    return { wiped: wipe, unsentAcks: counts.pendingAcks, unsentMessages: counts.pendingMessages };
  }

  /** Stops sync and flushing, ends every subscription and closes the database. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.engine.stop();
    await this.starting?.catch(() => undefined);
    await this.flusher.stop().catch(() => undefined);
    await this.engine.idle().catch(() => undefined);
    this.hub.close();
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new ReadSyncError('closed', 'The readsync worker is closed');
  }

  private async ready(): Promise<void> {
    this.assertOpen();
    if (this.starting) await this.starting;
  }

  /** A validated send input as the message to store, stamped now (so call order is send order). */
  private sendItem(args: v.InferOutput<typeof SendInputSchema>): SendItem {
    const out = { id: args.id ?? newMessageId(), convId: args.convId, text: args.text, needReadReceipt: args.needReadReceipt ?? false, createdAt: this.stamp() };
    const item: SendItem = { out, generatedId: args.id === undefined };
    if (args.convType !== undefined) item.convType = args.convType;
    return item;
  }

  /**
   * The rules a send meets before it is stored. A conversation not synced yet
   * is no reason to refuse: the message is queued and the server decides at
   * flush (a refusal leaves it failed with the reason, like any other).
   */
  private checkSend(item: SendItem, conv: Conversation | undefined): ConvType {
    const { out, convType } = item;
    if (conv && convType !== undefined && convType !== conv.type) {
      throw new ValidationError(`sendMessage: ${out.convId} is a ${conv.type} conversation, not ${convType}`);
    }
    if (out.needReadReceipt && conv?.type === 'group') this.assertReceiptsEnabled(conv);
    return conv?.type ?? convType ?? 'group';
  }

  private assertReceiptsEnabled(conv: Conversation): void {
    const types = this.config?.receiptGroupTypes;
    const byConfig = types !== undefined && conv.groupType !== undefined ? types.includes(conv.groupType) : true;
    if (conv.receiptsEnabled && byConfig) return;
    throw new ReceiptRuleError(
      'receipts-disabled',
      `sendMessage: group type "${conv.groupType ?? 'unknown'}" of ${conv.id} does not take read receipts; send without needReadReceipt`,
    );
  }

  /** A strictly increasing ms clock, so messages sent in one millisecond keep their order. */
  private stamp(): number {
    this.lastStamp = Math.max(Math.floor(this.now()), this.lastStamp + 1);
    return this.lastStamp;
  }

  private noteError(kind: WorkKind, err: ReadSyncError): void {
    // Only an unanswered request means offline; a 5xx or 429 came from a reachable server and is shown as the last error.
    if (err.code === 'network') this.flusher.noteConnection?.(false);
    else if (isAuthFailure(err)) this.needsAuth(toErrorPayload(err));
    else this.errors.fail(kind, toErrorPayload(err));
    this.publishStatus();
  }

  /** Work of `kind` succeeded: its last failure is over. */
  private noteSuccess(kind: WorkKind): void {
    if (this.errors.succeed(kind)) this.publishStatus();
  }

  /** The server refused the token: stop the stream (no reconnect loop), keep the queue, show 'needs-auth'. */
  private needsAuth(err: ErrorPayload): void {
    if (this.authError || this.closed) return;
    this.authError = err;
    this.engine.pause();
    this.publishStatus();
    if (this.onAuthRefused) this.signalAuthRefused(err);
  }

  private signalAuthRefused(err: ErrorPayload): void {
    // A Comlink proxy: the call is a message; a client that went away must not break the worker.
    Promise.resolve()
      .then(() => this.onAuthRefused?.(err))
      .catch(() => undefined);
  }

  private publishStatus(): void {
    const f = this.flushStatus;
    if (this.authError) {
      this.hub.setStatusFlags({ connection: 'needs-auth', leader: f.leader, flushing: f.flushing, lastError: this.authError, lastSyncAt: f.lastSyncAt });
      return;
    }
    let connection: SyncStatus['connection'];
    if (f.connection === 'offline') connection = 'offline';
    else if (!this.runSync) connection = f.connection;
    else connection = this.streamStatus === 'open' ? 'online' : 'connecting';
    this.hub.setStatusFlags({ connection, leader: f.leader, flushing: f.flushing, lastError: this.errors.current(), lastSyncAt: f.lastSyncAt });
  }
}

/** A refusal that only a new token can fix. */
function isAuthFailure(err: { code: string }): boolean {
  return err.code === 'unauthenticated' || err.code === 'wrong-user';
}
