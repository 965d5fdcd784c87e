import * as v from 'valibot';
import { IdSchema, ReadSyncError, ValidationError, parseArgument, type Conversation, type ErrorPayload, type ReadMemberPage, type ReceiptMode } from '../src/protocol';
import type {
  EnvironmentSignal,
  LoadOlderOptions,
  LocalMessage,
  MarkReadResult,
  MarkConversationReadOptions,
  MarkConversationReadResult,
  MemberPageOptions,
  MessageRef,
  OlderMessages,
  Query,
  ReadReceiptResult,
  SendEachResult,
  SendMessageInput,
  SignOutOptions,
  SignOutResult,
  UpdateBatch,
  WorkerEntryApi,
  WorkerInitOptions,
} from '../src/bridge';
import { ReadSyncDb } from './db/ReadSyncDb';
import { ReadSyncWorker, type ReadSyncWorkerOptions } from './ReadSyncWorker';
import type { Transport } from './transport/Transport';
import { HistoryWindowSchema, TokenSchema } from './apiSchemas';

const InitSchema = v.object({
  userId: IdSchema,
  token: TokenSchema,
  serverUrl: v.pipe(v.string(), v.url('serverUrl must be an absolute URL')),
  dbName: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(200))),
  flush: v.optional(
    v.object({
      debounceMs: v.optional(v.pipe(v.number(), v.minValue(0))),
      intervalMs: v.optional(v.pipe(v.number(), v.minValue(10))),
      ackBatchSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
      backoffBaseMs: v.optional(v.pipe(v.number(), v.minValue(0))),
      backoffMaxMs: v.optional(v.pipe(v.number(), v.minValue(0))),
    }),
  ),
  historyWindow: v.optional(HistoryWindowSchema),
  initialEnvironment: v.optional(v.object({ online: v.optional(v.boolean()), visible: v.optional(v.boolean()) })),
});

/** How a `WorkerEntry` builds its parts from the init options. */
export interface WorkerEntryDeps {
  /** The transport for a user (the browser entry: HTTP + WebSocket to `serverUrl`). */
  createTransport(options: WorkerInitOptions): Transport;
  /** IndexedDB implementation (fake-indexeddb in Node tests); default the global one. */
  indexedDB?: IDBFactory;
  IDBKeyRange?: typeof IDBKeyRange;
  /** Anything else ReadSyncWorker accepts (flusher, clock, scheduling). */
  worker?: Partial<Omit<ReadSyncWorkerOptions, 'db' | 'transport' | 'userId'>>;
}

/**
 * What the browser worker exposes: `init` builds a `ReadSyncWorker` for one
 * user (database `readsync-<userId>` unless named), and every other method
 * delegates to it. Calls before a successful `init` reject with code
 * `closed` and say so; a failed init can be retried.
 */
export class WorkerEntry implements WorkerEntryApi {
  private worker: ReadSyncWorker | null = null;
  private initializing: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly deps: WorkerEntryDeps) {}

  async init(options: WorkerInitOptions): Promise<void> {
    if (this.closed) throw new ReadSyncError('closed', 'The readsync worker is closed');
    const o = parseArgument(InitSchema, options, 'init');
    if (this.initializing) throw new ValidationError('init: the worker is already initialised; create a new worker for another user');
    this.initializing = (async () => {
      const db = new ReadSyncDb(o.dbName ?? `readsync-${o.userId}`, {
        ...(this.deps.indexedDB ? { indexedDB: this.deps.indexedDB } : {}),
        ...(this.deps.IDBKeyRange ? { IDBKeyRange: this.deps.IDBKeyRange } : {}),
      });
      const worker = new ReadSyncWorker({
        ...this.deps.worker,
        db,
        transport: this.deps.createTransport(options),
        userId: o.userId,
        ...(o.flush ? { flush: o.flush } : {}),
        ...(o.historyWindow !== undefined ? { historyWindow: o.historyWindow } : {}),
      });
      try {
        // Before start: start-up flushes leftovers only if the page is online.
        if (o.initialEnvironment) await worker.setEnvironment(o.initialEnvironment);
        await worker.start();
      } catch (err) {
        await worker.close().catch(() => undefined);
        throw err;
      }
      this.worker = worker;
    })();
    try {
      await this.initializing;
    } catch (err) {
      this.initializing = null;
      throw err;
    }
  }

  /** The running worker, for embedding code and tests. */
  get current(): ReadSyncWorker | null {
    return this.worker;
  }

  attach(sink: (batch: UpdateBatch) => void, onAuthRefused?: (error: ErrorPayload) => void): Promise<void> {
    return this.w('attach').attach(sink, onAuthRefused);
  }
  subscribe(subs: { id: number; query: Query }[]): Promise<void> {
    return this.w('subscribe').subscribe(subs);
  }
  async unsubscribe(ids: number[]): Promise<void> {
    if (this.worker) await this.worker.unsubscribe(ids);
  }
  sendMessage(input: SendMessageInput): Promise<LocalMessage> {
    return this.w('sendMessage').sendMessage(input);
  }
  sendMessages(inputs: SendMessageInput[]): Promise<LocalMessage[]> {
    return this.w('sendMessages').sendMessages(inputs);
  }
  sendMessageEach(inputs: SendMessageInput[]): Promise<SendEachResult[]> {
    return this.w('sendMessageEach').sendMessageEach(inputs);
  }
  receiveMessages(messages: Parameters<ReadSyncWorker['receiveMessages']>[0]): Promise<void> {
    return this.w('receiveMessages').receiveMessages(messages);
  }
  markRead(refs: MessageRef[]): Promise<MarkReadResult> {
    return this.w('markRead').markRead(refs);
  }

  markConversationRead(convId: string, options?: MarkConversationReadOptions): Promise<MarkConversationReadResult> {
    return this.w('markConversationRead').markConversationRead(convId, options);
  }
  setReceiptMode(mode: ReceiptMode): Promise<void> {
    return this.w('setReceiptMode').setReceiptMode(mode);
  }
  getReadReceipts(refs: MessageRef[]): Promise<ReadReceiptResult[]> {
    return this.w('getReadReceipts').getReadReceipts(refs);
  }
  getReadMembers(ref: MessageRef, options: MemberPageOptions): Promise<ReadMemberPage> {
    return this.w('getReadMembers').getReadMembers(ref, options);
  }
  getConversations(): Promise<Conversation[]> {
    return this.w('getConversations').getConversations();
  }
  loadOlder(convId: string, options?: LoadOlderOptions): Promise<OlderMessages> {
    return this.w('loadOlder').loadOlder(convId, options);
  }
  setEnvironment(signal: EnvironmentSignal): Promise<void> {
    return this.w('setEnvironment').setEnvironment(signal);
  }
  flush(): Promise<void> {
    return this.w('flush').flush();
  }
  clearRejected(): Promise<void> {
    return this.w('clearRejected').clearRejected();
  }
  setToken(token: string): Promise<void> {
    return this.w('setToken').setToken(token);
  }
  signOut(options: SignOutOptions): Promise<SignOutResult> {
    return this.w('signOut').signOut(options);
  }
  async stats(): Promise<{ subscriptions: number; queries: number }> {
    return this.worker ? this.worker.stats() : { subscriptions: 0, queries: 0 };
  }
  async close(): Promise<void> {
    this.closed = true;
    await this.initializing?.catch(() => undefined);
    await this.worker?.close();
  }

  private w(method: string): ReadSyncWorker {
    if (this.worker) return this.worker;
    if (this.closed) throw new ReadSyncError('closed', `${method}: the readsync worker is closed`);
    throw new ReadSyncError('closed', `${method}: the readsync worker is not initialised yet; call init({ userId, token, serverUrl }) first`);
  }
}
