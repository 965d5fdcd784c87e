import { Subject, distinctUntilChanged, map, throwError, type Observable } from 'rxjs';
import type {
  ConversationSummary,
  LoadOlderOptions,
  MarkConversationReadOptions,
  MarkConversationReadResult,
  LocalMessage,
  MarkReadResult,
  MemberPageOptions,
  MessageRef,
  MessageWindow,
  OlderMessages,
  Query,
  ReadReceiptResult,
  ReadState,
  SendMessageInput,
  SignOutOptions,
  SignOutResult,
  SyncStatus,
  WorkerApi,
} from '../bridge';
import { IdSchema, MessageIdSchema, ReadSyncError, isMessageId, ValidationError, fromErrorPayload, parseArgument, toErrorPayload } from '../protocol';
import type { ErrorPayload, Message, MessageReceipt, ReadMemberPage, ReceiptMode } from '../protocol';
import { SubscriptionRegistry } from './SubscriptionRegistry';
import { refreshTokens } from './refreshTokens';
import type { TokenSource } from './TokenSource';

/** @internal How the client reaches its worker; built by `createReadSyncClient`. */
export interface ClientLink {
  /** The worker API (a Comlink remote, so every call is async). */
  api: WorkerApi;
  /** Resolves once the worker is initialised and the update sink attached. */
  ready: Promise<void>;
  /** Wires the update sink to the registry, and the worker's failure to the client; called once. */
  connect(dispatch: SubscriptionRegistry['dispatch'], onFailure: (err: ReadSyncError) => void): void;
  /** Wires the worker's "the server refused the token" signal; called at most once. */
  onAuthRefused(handler: (error: ErrorPayload) => void): void;
  /** Releases the link after the registry is closed (closes/terminates an owned worker). */
  dispose(): Promise<void>;
}

/**
 * The UI-thread face of readsync. Reads are RxJS observables fed by the
 * worker's IndexedDB over one multiplexed channel; writes are promises that
 * resolve once the worker has stored them durably (they work offline).
 * Every rejection and every observable error is a `ReadSyncError`: check its
 * `code`.
 */
export class ReadSyncClient {
  /**
   * The user's conversations as stored locally, each with my unread count
   * (and whether the stored history leaves a gap above my read position:
   * `unreadCountCapped`), its newest message and my read position. Live in
   * every tab, right offline and after a reload.
   */
  readonly conversations$: Observable<ConversationSummary[]>;
  /** Connection, leader tab, pending and rejected counts, my receipt mode. */
  readonly syncStatus$: Observable<SyncStatus>;
  /**
   * My receipt mode as this device reads with it: `public` (senders see my
   * reads) or `private` (my reads reach my own devices and clear my unread
   * counts, but no sender learns of them). Changes with `setReceiptMode` here
   * at once, and when another of my devices changes it (once this one hears,
   * by the event stream or its next pull). Emits on change only.
   */
  readonly receiptMode$: Observable<ReceiptMode>;
  /**
   * Receipt updates of my messages, in batches as they arrive (the seed's
   * receipt callback): someone read the message, or (issue 10.5, with a
   * server that counts deliveries) their device received it; each receipt
   * carries `deliveredCount`. Never for my own send. No replay. A batch is
   * emitted once its receipts are stored locally, so `readState$` may show a
   * receipt a moment earlier.
   */
  readonly receipts$: Observable<MessageReceipt[]>;
  /** Background errors that belong to no call or observable (start-up, forwarded signals). */
  readonly error$: Observable<ReadSyncError>;

  private readonly registry: SubscriptionRegistry;
  private readonly errors = new Subject<ReadSyncError>();
  private readonly cleanups: (() => void)[] = [];
  private closing: Promise<void> | null = null;
  /** Set once the worker failed: every call and observable fails with it from then on. */
  private failure: ReadSyncError | null = null;
  /** Rejecters of calls in flight, so a worker that dies mid-call cannot leave them pending forever. */
  private readonly inflight = new Set<(err: ReadSyncError) => void>();
  /** `sendMessage` calls of this task, not yet handed to the worker (see dispatchSends). */
  private sendBatch: SendBatch | null = null;

  constructor(
    private readonly link: ClientLink,
    tokens?: TokenSource,
  ) {
    this.error$ = this.errors.asObservable();
    this.registry = new SubscriptionRegistry(
      {
        subscribe: async (subs) => this.call((api) => api.subscribe(subs)),
        unsubscribe: async (ids) => this.call((api) => api.unsubscribe(ids), true),
      },
      (err) => this.errors.next(err),
    );
    link.connect(
      (updates) => this.registry.dispatch(updates),
      (err) => this.workerFailed(err),
    );
    link.ready.catch((err: unknown) => {
      const e = asReadSyncError(err);
      if (e.code === 'worker-failed') this.workerFailed(e);
      else this.errors.next(e);
    });
    this.conversations$ = this.registry.observe<ConversationSummary[]>({ kind: 'conversations' });
    this.syncStatus$ = this.registry.observe<SyncStatus>({ kind: 'sync-status' });
    this.receipts$ = this.registry.observe<MessageReceipt[]>({ kind: 'receipts' });
    // Part of the sync status (no query kind of its own): one worker query serves both.
    this.receiptMode$ = this.syncStatus$.pipe(
      map((s) => s.receiptMode),
      distinctUntilChanged(),
    );
    if (tokens) {
      const refresher = refreshTokens(this, tokens);
      link.onAuthRefused(refresher.onRefused);
      this.cleanups.push(refresher.stop);
    }
  }

  /**
   * Live receipt line of one message (mine or someone else's); null while the
   * message is unknown here. Mine in c2c go "Sent" → "Delivered" (the peer's
   * device stored it) → "Read"; in groups `deliveredCount` counts the members
   * whose devices have it, readers included.
   */
  readState$(message: MessageRef): Observable<ReadState | null> {
    return this.observe<ReadState | null>(() => {
      const id = messageIdOf(message);
      // One per message on screen: the valid case is checked by hand, the schema explains a bad one.
      return { kind: 'read-state', messageId: isMessageId(id) ? id : parseArgument(MessageIdSchema, id, 'readState$') };
    });
  }

  /**
   * The newest messages of one conversation, oldest first: the newest `limit`
   * (default **100**, at most 10,000) of its history as stored here, my
   * pending messages last. `messageWindow$` gives the same with the window
   * made explicit (its limit, whether older messages exist); `loadOlder`
   * brings older ones.
   */
  messages$(convId: string, options: { limit?: number } = {}): Observable<LocalMessage[]> {
    return this.messageWindow$(convId, options, 'messages$').pipe(map((w) => w.messages));
  }

  /**
   * The newest `limit` messages of a conversation (default 100, at most
   * 10,000), as `{ convId, messages, limit, hasOlder }`: `hasOlder` says older
   * messages exist, stored beyond the limit or still on the server. The
   * window starts after the newest window a sync brought; a bigger `limit`
   * shows more once `loadOlder` has brought them.
   */
  messageWindow$(convId: string, options: { limit?: number } = {}, what = 'messageWindow$'): Observable<MessageWindow> {
    return this.observe<MessageWindow>(() => {
      parseArgument(IdSchema, convId, `${what}: convId`);
      const { limit } = options ?? {};
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0 && limit <= 10_000)) throw new ValidationError(`${what}: limit must be an integer from 1 to 10,000`);
      return limit === undefined ? { kind: 'messages', convId } : { kind: 'messages', convId, limit };
    });
  }

  /**
   * Older messages of a conversation: the `count` (default 50, at most 1,000)
   * right before `before` (default: before the oldest one stored), oldest
   * first, with `hasOlder`. Answers from IndexedDB what it has and fetches the
   * rest from the server when it can (offline: what is stored); what it
   * fetches is stored, so windows grow and reloads keep it, and the receipts
   * of my own messages among it are refreshed.
   */
  loadOlder(convId: string, options: LoadOlderOptions = {}): Promise<OlderMessages> {
    let opts: LoadOlderOptions;
    try {
      parseArgument(IdSchema, convId, 'loadOlder: convId');
      opts = options.before === undefined ? { ...options } : { ...options, before: messageIdOf(options.before) };
    } catch (err) {
      return Promise.reject(asReadSyncError(err));
    }
    return this.call((api) => api.loadOlder(convId, opts));
  }

  /**
   * Stores the message as pending and sends it when possible; resolves once
   * it is durably stored. Rejects with `receipts-disabled` when the group type
   * is known not to take receipts. The calls made in one task reach the
   * worker together (one round trip, not one per call), each still checked,
   * stored and answered on its own, in call order.
   */
  sendMessage(input: SendMessageInput): Promise<LocalMessage> {
    const plain = plainSendInput(input);
    // Anything but a plain object of plain values goes alone, as it always did (after the calls before it).
    if (plain === null) return this.call((api) => api.sendMessage(input));
    if (this.closing) return Promise.reject(closedError());
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<LocalMessage>((resolve, reject) => {
      let batch = this.sendBatch;
      if (batch === null) {
        batch = this.sendBatch = { inputs: [], waiters: [] };
        queueMicrotask(() => this.dispatchSends());
      }
      batch.inputs.push(plain);
      batch.waiters.push({ resolve, reject });
    });
  }

  /**
   * Stores several messages as pending and sends them when possible: one call,
   * one transaction, all stored or none (a bad item or a reused id refuses
   * the call with its code). Resolves with the messages in order. Concurrent
   * `sendMessage` calls are committed together as well; this saves the calls.
   */
  sendMessages(inputs: readonly SendMessageInput[]): Promise<LocalMessage[]> {
    if (!Array.isArray(inputs)) return Promise.reject(new ValidationError('sendMessages: expects an array of messages'));
    return this.call((api) => api.sendMessages([...inputs]));
  }

  /** Stores messages the app received through its own chat channel. */
  receiveMessages(messages: Message[]): Promise<void> {
    return this.call((api) => api.receiveMessages(messages));
  }

  /** Marks messages read now; resolves once the receipts are durably queued (works offline). Own messages and messages without receipts are skipped. */
  markRead(messages: MessageRef | readonly MessageRef[]): Promise<MarkReadResult> {
    return this.call((api) => api.markRead(refList(messages, 'markRead')));
  }

  /**
   * Sets my receipt mode for reads made from now on, on every device of mine:
   * `'private'` keeps my reads from senders (no read count, I stay in their
   * UNREAD member list, no receipt event), while they still reach my own
   * devices and clear my unread counts; `'public'` (the default) tells them
   * again. A read keeps the mode it was made in: switching later changes no
   * earlier read. Like every write it works offline: stored at once (from
   * the next `markRead`/`markConversationRead` on), queued as one change (the
   * last call wins) and sent when online to a server announcing
   * `read-positions`; until it is sent, it wins over the server's setting
   * (`syncStatus$.receiptModePending`); an older server keeps it queued and
   * `syncStatus$.lastError` says `unsupported-protocol`. Resolves after the
   * local commit.
   */
  setReceiptMode(mode: ReceiptMode): Promise<void> {
    if (mode !== 'public' && mode !== 'private') return Promise.reject(new ValidationError("setReceiptMode: mode must be 'public' or 'private'"));
    return this.call((api) => api.setReceiptMode(mode));
  }

  /**
   * Marks a conversation read up to `upTo` (a message of it; default its newest
   * stored one): ONE durable read position, not an ack per message. My unread
   * count drops at once (offline too, in every tab and, once sent, on my other
   * devices); messages in the range that asked for receipts count as read by me
   * for their senders. Positions only move forward, and combine with `markRead`
   * in any order. Resolves after the local commit; the position goes out with
   * the next ack batch to a server announcing `read-positions` (against an
   * older server it stays queued and `syncStatus$.lastError` says why).
   */
  markConversationRead(convId: string, options: MarkConversationReadOptions = {}): Promise<MarkConversationReadResult> {
    let opts: MarkConversationReadOptions;
    try {
      parseArgument(IdSchema, convId, 'markConversationRead: convId');
      if (typeof options !== 'object' || options === null) throw new ValidationError('markConversationRead: options must be { upTo?: message }');
      opts = options.upTo === undefined ? {} : { upTo: messageIdOf(options.upTo) };
    } catch (err) {
      return Promise.reject(asReadSyncError(err));
    }
    return this.call((api) => api.markConversationRead(convId, opts));
  }

  /**
   * Receipt state of my messages: fresh from the server when reachable, else
   * as stored, `deliveredCount` included (equal to `readCount` from a server
   * that does not count deliveries). One result per message asked, in the
   * order asked: `{ messageId, receipt }`, or `{ messageId, reason }` when there is none (`not-sender`,
   * `receipt-not-requested`, `not-sent`, `not-found`). A list that mixes my
   * messages with others' is answered item by item, never refused whole.
   */
  getReadReceipts(messages: MessageRef | readonly MessageRef[]): Promise<ReadReceiptResult[]> {
    return this.call((api) => api.getReadReceipts(refList(messages, 'getReadReceipts')));
  }

  /**
   * One page of the members of my group message's audience who have read it
   * (`filter: 'read'`), who have not (`'unread'`), or who have not read it
   * but whose devices have stored it (`'delivered'`, a subset of `unread`;
   * needs a server announcing `delivery`, else `unsupported-protocol`).
   * Pass the `at` of another walk's page to list both at one snapshot.
   */
  getReadMembers(message: MessageRef, options: MemberPageOptions): Promise<ReadMemberPage> {
    return this.call((api) => api.getReadMembers(messageIdOf(message), options));
  }

  /** Flushes pending receipts and messages now; resolves when that flush ends. */
  flush(): Promise<void> {
    return this.call((api) => api.flush());
  }

  /** Forgets rejected receipts and failed messages in the status counts. */
  clearRejected(): Promise<void> {
    return this.call((api) => api.clearRejected());
  }

  /**
   * Hands the worker a new bearer token (e.g. after your own refresh). If the
   * server had refused the old one ('needs-auth'), the event stream reopens
   * and the kept queue flushes. A token of another user than this client's is
   * refused by the server with `wrong-user`, and nothing is sent with it.
   */
  setToken(token: string): Promise<void> {
    if (typeof token !== 'string' || token === '') return Promise.reject(new ValidationError('setToken: the token must be a non-empty string'));
    return this.call((api) => api.setToken(token));
  }

  /**
   * Signs out on this device: stops sync, closes the client and, with
   * `wipe: true`, deletes this user's local database (shared devices). What
   * was still unsent is reported (and, when wiped, gone): call `flush()` first
   * to send it while the token is valid. Other tabs of this user should sign
   * out too; a wiped database is closed under them.
   */
  async signOut(options: SignOutOptions = {}): Promise<SignOutResult> {
    if (typeof options !== 'object' || options === null || (options.wipe !== undefined && typeof options.wipe !== 'boolean')) {
      throw new ValidationError('signOut: options must be { wipe?: boolean }');
    }
    const result = await this.call((api) => api.signOut({ wipe: options.wipe === true }));
    await this.close();
    return result;
  }

  /** @internal Registers a cleanup to run on close (the factory's environment listeners). */
  onClose(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  /** @internal Reports a background error on `error$`. */
  reportError(err: unknown): void {
    this.errors.next(asReadSyncError(err));
  }

  /**
   * Completes every observable, releases every worker-side subscription,
   * removes the environment listeners and, for a worker the client owns,
   * closes and terminates it. Later calls reject with code `closed`;
   * observables subscribed later complete at once, without an error (a
   * closed client is an ended stream, not a failure), so UI code that
   * subscribes during a remount or a sign-out needs no special case.
   */
  close(): Promise<void> {
    // Sends called before close go out first, as they did one call at a time.
    this.dispatchSends();
    this.closing ??= (async () => {
      for (const c of this.cleanups.splice(0)) c();
      await this.registry.close();
      await this.link.dispose();
      this.errors.complete();
    })();
    return this.closing;
  }

  /** Live subscriptions this client holds on the worker (shared queries count once). */
  get liveSubscriptions(): number {
    return this.registry.size;
  }

  /** Builds the query up front: a bad argument becomes an erroring observable (code `invalid-argument`), never a throw. */
  private observe<T>(build: () => Query): Observable<T> {
    let query: Query;
    try {
      query = build();
    } catch (err) {
      return throwError(() => asReadSyncError(err));
    }
    return this.registry.observe<T>(query);
  }

  /**
   * The worker failed (did not load, did not answer `init` in time, crashed):
   * calls in flight and later calls reject with it, every live observable
   * errors with it, and `error$` emits it once.
   */
  private workerFailed(err: ReadSyncError): void {
    if (this.failure) return;
    this.failure = err;
    for (const reject of [...this.inflight]) reject(err);
    this.inflight.clear();
    this.registry.fail(err);
    this.errors.next(err);
  }

  /**
   * Hands the `sendMessage` calls waiting in `sendBatch` to the worker: ONE
   * `sendMessageEach` call for all of them (a lone call goes as itself),
   * then settles each caller's promise with its own result or error. Runs at
   * the end of the task that made the calls, and before any other call
   * reaches the worker, so the worker sees every call in the order it was
   * made (call order is send order).
   */
  private dispatchSends(): void {
    const batch = this.sendBatch;
    if (batch === null) return;
    this.sendBatch = null;
    const { inputs, waiters } = batch;
    if (inputs.length === 1) {
      const [input] = inputs as [SendMessageInput];
      const [w] = waiters as [SendWaiter];
      this.call((api) => api.sendMessage(input)).then(w.resolve, w.reject);
      return;
    }
    this.call((api) => api.sendMessageEach(inputs)).then(
      (results) => {
        waiters.forEach((w, i) => {
          const r = results[i];
          if (r === undefined) w.reject(new ReadSyncError('internal', `sendMessage: the worker answered ${results.length} of ${waiters.length} calls`));
          else if ('error' in r) w.reject(fromErrorPayload(r.error));
          else w.resolve(r.message);
        });
      },
      (err: ReadSyncError) => {
        for (const w of waiters) w.reject(err);
      },
    );
  }

  private call<T>(fn: (api: WorkerApi) => Promise<T>, duringClose = false): Promise<T> {
    // Coalesced sends made before this call reach the worker before it.
    if (this.sendBatch !== null) this.dispatchSends();
    if (this.closing && !duringClose) return Promise.reject(closedError());
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const fail = (err: ReadSyncError) => reject(err);
      this.inflight.add(fail);
      this.link.ready
        .then(() => fn(this.link.api))
        .then(
          (value) => {
            this.inflight.delete(fail);
            resolve(value);
          },
          (err: unknown) => {
            this.inflight.delete(fail);
            reject(asReadSyncError(err));
          },
        );
    });
  }
}

interface SendWaiter {
  resolve(message: LocalMessage): void;
  reject(err: ReadSyncError): void;
}

interface SendBatch {
  inputs: SendMessageInput[];
  waiters: SendWaiter[];
}

function closedError(): ReadSyncError {
  return new ReadSyncError('closed', 'The readsync client is closed');
}

/**
 * A copy of a send input that can join a coalesced call: a plain object whose
 * own values are all primitives, so the copy is what the worker would have
 * received (structured clone copies the same own properties), taken at call
 * time, and cloning it cannot fail for the others. Anything else: null.
 */
function plainSendInput(input: unknown): SendMessageInput | null {
  if (typeof input !== 'object' || input === null) return null;
  const proto: unknown = Object.getPrototypeOf(input);
  if (proto !== Object.prototype && proto !== null) return null;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    const value: unknown = (input as Record<string, unknown>)[key];
    if (value !== null && (typeof value === 'object' || typeof value === 'function' || typeof value === 'symbol')) return null;
    copy[key] = value;
  }
  return copy as unknown as SendMessageInput;
}

function messageIdOf(ref: MessageRef): string {
  if (typeof ref === 'string' && ref !== '') return ref;
  if (typeof ref === 'object' && ref !== null && typeof ref.id === 'string' && ref.id !== '') return ref.id;
  throw new ValidationError('a message reference must be a message id or an object with an `id`');
}

function refList(refs: MessageRef | readonly MessageRef[], what: string): string[] {
  const list = Array.isArray(refs) ? (refs as readonly MessageRef[]) : [refs as MessageRef];
  try {
    return list.map(messageIdOf);
  } catch (err) {
    throw new ValidationError(`${what}: ${(err as Error).message}`);
  }
}

function asReadSyncError(err: unknown): ReadSyncError {
  return err instanceof ReadSyncError ? err : fromErrorPayload(toErrorPayload(err));
}
