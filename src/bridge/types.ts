/**
 * The contract between the UI thread (src/client) and the Web Worker
 * (worker/): the Comlink-exposed API and the single multiplexed subscription
 * channel. Plain data only: everything here crosses postMessage.
 */
import type { ConvType, Conversation, MemberFilter, Message, MessageReceipt, ReadMemberPage } from '../protocol';
import type { ErrorPayload, ReceiptMode } from '../protocol';
import type { UpdateBatch } from './updateBatch';

/** Where a message of mine stands on its way to the server. */
export type SendStatus = 'pending' | 'sent' | 'failed';
/** Where my read acknowledgement of someone else's message stands. */
export type AckStatus = 'none' | 'pending' | 'sent' | 'rejected';

/** A message as the local store knows it. Server fields are null until the server accepted it. */
export interface LocalMessage {
  id: string;
  convId: string;
  convType: ConvType;
  senderId: string;
  text: string;
  needReadReceipt: boolean;
  /** Client clock when sent (own messages) or when first stored locally. */
  createdAt: number;
  seq: number | null;
  sentAt: number | null;
  audienceCount: number | null;
  /** Own messages: delivery state. Others' messages are always 'sent'. */
  status: SendStatus;
  /** Set when `status` is 'failed' (e.g. code `receipts-disabled`). */
  error?: ErrorPayload;
  /** Others' messages: when I read it (client clock at markRead). */
  readAt?: number;
  ackStatus: AckStatus;
  /** Set when `ackStatus` is 'rejected'. */
  ackError?: ErrorPayload;
}

/** Everything the UI needs to render the receipt line of one message. */
export interface ReadState {
  messageId: string;
  convId: string;
  convType: ConvType;
  direction: 'outgoing' | 'incoming';
  needReadReceipt: boolean;
  status: SendStatus;
  error?: ErrorPayload;
  /** Outgoing: receipt counts (c2c: 0/1). */
  readCount: number;
  unreadCount: number;
  /**
   * Outgoing (issue 10.5): members whose devices have stored the message,
   * readers included, so `readCount <= deliveredCount <= readCount +
   * unreadCount` (c2c: 0/1, "Delivered"). Only moves forward. From a server
   * that does not count deliveries it equals `readCount`. Incoming: 0.
   */
  deliveredCount: number;
  isPeerRead: boolean;
  /** Outgoing: time of the latest read included; incoming: my readAt. 0 if none. */
  timestamp: number;
  /** Incoming: my acknowledgement's state. */
  ackStatus: AckStatus;
  ackError?: ErrorPayload;
  /**
   * Ready-made English label: "Sending…", "Sent", "Delivered" (c2c: the
   * peer's device has it, unread), "Read", "2 read · 3 unread" (groups: the
   * delivered count is in `deliveredCount`, not in the label), "Failed: …".
   */
  label: string;
}

/** Live sync status of this client. */
export interface SyncStatus {
  /**
   * 'offline' when the browser says so or the last request failed to connect.
   * 'needs-auth' when the server refused the token (expired, revoked, or of
   * another user: see `lastError.code`): nothing is sent until a new token
   * arrives (`getToken` option or `setToken`); the queue is kept.
   */
  connection: 'online' | 'offline' | 'connecting' | 'needs-auth';
  /** This tab's worker holds the flush lock (exactly one tab does). */
  leader: boolean;
  flushing: boolean;
  /**
   * My reads not yet confirmed by the server: queued acks and read positions
   * (one per conversation). Deliveries (issue 10.5: this device telling
   * senders it stored their messages) are not counted: they are not reads
   * the user made, and they wait quietly (a server without `delivery` never
   * gets them).
   */
  pendingAcks: number;
  pendingMessages: number;
  rejectedAcks: number;
  failedMessages: number;
  /**
   * The most recent failure still standing, of the flusher's sends, the
   * catch-up (pulls, receipt refresh) or an on-demand query (receipts, member
   * pages, older messages). The next success of the same kind clears it.
   */
  lastError: ErrorPayload | null;
  lastSyncAt: number | null;
  /**
   * My receipt mode as this device reads with it (issue 10.4): `private`
   * reads reach my own devices only. Set here with `setReceiptMode`, or
   * learned from the server (a change made on another of my devices).
   */
  receiptMode: ReceiptMode;
  /** A `setReceiptMode` of this device has not reached the server yet (it wins over the server's until then). */
  receiptModePending: boolean;
}

/** A reference to a message for markRead / getReadReceipts: its id, or the message itself. */
export type MessageRef = string | { id: string };

/**
 * Input of sendMessage. `id` is generated when absent. The conversation need
 * not be synced yet: the message is queued all the same and the server
 * decides at flush.
 */
export interface SendMessageInput {
  convId: string;
  /**
   * The conversation's type, used while the worker does not know the
   * conversation yet (default 'group'); the server's answer corrects it. For a
   * known conversation it must match (else `invalid-argument`).
   */
  convType?: ConvType;
  text: string;
  needReadReceipt?: boolean;
  id?: string;
}

/** One call's answer in `sendMessageEach`: the stored message, or the error its `sendMessage` would have rejected with. */
export type SendEachResult = { message: LocalMessage } | { error: ErrorPayload };

/** Result of markRead: what was queued and what was skipped, with why. */
export interface MarkReadResult {
  queued: number;
  /** Already read before: idempotent no-op. */
  alreadyRead: number;
  skipped: { messageId: string; reason: 'own-message' | 'receipt-not-requested' | 'not-found' }[];
}

/**
 * Why `getReadReceipts` has no receipt for a message: it is someone else's
 * (`not-sender`), mine but sent without `needReadReceipt`
 * (`receipt-not-requested`), mine but not on the server yet (`not-sent`:
 * pending, or failed), or unknown here and to the server (`not-found`;
 * offline: unknown here).
 */
export type ReceiptSkipReason = 'not-sender' | 'receipt-not-requested' | 'not-sent' | 'not-found';

/** One answer of `getReadReceipts`: the receipt of the message asked, or why there is none. */
export type ReadReceiptResult = { messageId: string; receipt: MessageReceipt; reason?: undefined } | { messageId: string; receipt?: undefined; reason: ReceiptSkipReason };

/** Options of getReadMembers. `count` is capped at the server's page limit. */
export interface MemberPageOptions {
  /**
   * `read`, `unread`, or `delivered`: unread members whose devices have
   * stored the message (issue 10.5; needs a server announcing `delivery`).
   */
  filter: MemberFilter;
  cursor?: string | null;
  count?: number;
  /**
   * Start the walk at this snapshot: the `at` of a page of the other filter's
   * walk, so that the READ and the UNREAD lists together are the audience
   * exactly, with nobody in both, while acks keep arriving. Absent: the first
   * page takes the server's current snapshot (its `at`); later pages keep
   * their cursor's. Needs a server that sends `at` (issue 10).
   */
  at?: number;
}

/**
 * The newest messages of one conversation as stored locally: what
 * `messages$` shows (its `messages`) and what `messageWindow$` gives whole.
 */
export interface MessageWindow {
  convId: string;
  /** Oldest first: the newest `limit` of the history stored without a gap (my pending messages last). */
  messages: LocalMessage[];
  /** The window's size asked for (100 when not given). */
  limit: number;
  /**
   * Older messages exist: stored beyond the limit, or not loaded yet
   * (`loadOlder` brings them; a window stops at a gap it cannot fill).
   */
  hasOlder: boolean;
}

/** Options of `loadOlder`. */
export interface LoadOlderOptions {
  /** How many messages, 1-1,000. Default 50. */
  count?: number;
  /**
   * The messages older than this one (of the same conversation). Default: older
   * than the oldest message of the history stored without a gap.
   */
  before?: MessageRef;
}

/** A page of older messages from `loadOlder`. */
export interface OlderMessages {
  /** Oldest first, right before `before`; fewer than asked when the history starts (or, offline, what is stored). */
  messages: LocalMessage[];
  /** Still older messages exist (stored here or on the server). */
  hasOlder: boolean;
}

/**
 * One item of `conversations$`: the conversation with my read state in it
 * (issue 10), counted over what is stored locally, so it is right offline,
 * after a reload and in every tab.
 */
export interface ConversationSummary extends Conversation {
  /**
   * Messages from others after my read position that I have not read
   * (whether or not they asked for receipts): read here, on another of my
   * devices, or by a read position.
   */
  unreadCount: number;
  /**
   * The stored history above my read position has a gap (the sync brings
   * each conversation's newest window first): `unreadCount` counts what is
   * stored, and there are more unread messages than that. Show "99+" or
   * similar; `loadOlder` closes the gap.
   */
  unreadCountCapped: boolean;
  /** The newest stored message (my pending ones included), or null. */
  lastMessage: LocalMessage | null;
  /** My read position: every message up to this seq is read by me (0: none). */
  readPosition: number;
}

/** Options of `markConversationRead`. */
export interface MarkConversationReadOptions {
  /** Read up to and including this message (of the conversation, sent). Default: the newest stored sent message. */
  upTo?: MessageRef;
}

/** Result of `markConversationRead`. */
export interface MarkConversationReadResult {
  convId: string;
  /** My read position now (unchanged when it already was at or past the one asked). */
  position: number;
  /** Stored messages from others that this call marked read. */
  markedRead: number;
}

/** What a UI subscription asks for. Identical queries share one worker-side query. */
export type Query =
  | { kind: 'read-state'; messageId: string } // value: ReadState | null
  | { kind: 'messages'; convId: string; limit?: number } // value: MessageWindow (the newest `limit`, default 100)
  | { kind: 'conversations' } // value: ConversationSummary[]
  | { kind: 'sync-status' } // value: SyncStatus
  | { kind: 'receipts' }; // event stream: each value is a MessageReceipt[] batch as it arrives

/** One entry of an update batch: a new value for subscription `id`, or its error. */
export interface SubscriptionUpdate {
  id: number;
  value?: unknown;
  error?: ErrorPayload;
}

/** Environment signals the UI thread forwards (they do not fire inside a Chromium worker). */
export interface EnvironmentSignal {
  online?: boolean;
  visible?: boolean;
}

/**
 * The worker's API, exposed with Comlink. Every method may reject with an
 * error carrying a stable `code` (see `ERROR_CODES`).
 */
export interface WorkerApi {
  /**
   * Registers the single update sink (a Comlink proxy). The worker calls it
   * at most once per tick with every pending update, coalesced per id, read
   * states packed in columns (`UpdateBatch`; `unpackUpdates` turns it into
   * one `SubscriptionUpdate` per id). `onAuthRefused` (a Comlink proxy too)
   * hears each time the server refuses the token, so the client can fetch a
   * new one.
   */
  attach(sink: (batch: UpdateBatch) => void, onAuthRefused?: (error: ErrorPayload) => void): Promise<void>;
  /** Starts subscriptions (batched: many ids per call). The current value follows on the sink. */
  subscribe(subs: { id: number; query: Query }[]): Promise<void>;
  /** Ends subscriptions and releases their worker-side queries. */
  unsubscribe(ids: number[]): Promise<void>;

  sendMessage(input: SendMessageInput): Promise<LocalMessage>;
  /** Stores and queues several messages in one call (all or none), answered in order. */
  sendMessages(inputs: SendMessageInput[]): Promise<LocalMessage[]>;
  /**
   * Several `sendMessage` calls in one round trip (the client coalesces the
   * calls made in one task): each input is its own call, checked, stamped
   * and stored or refused on its own, in order, exactly as if it had come
   * alone; answered once every one of them is committed, with one result
   * per input.
   */
  sendMessageEach(inputs: SendMessageInput[]): Promise<SendEachResult[]>;
  /** Stores messages delivered by another channel (e.g. the app's own chat backend). */
  receiveMessages(messages: Message[]): Promise<void>;
  /** Durably queues read acks; resolves after the IndexedDB commit. Works offline. */
  markRead(refs: MessageRef[]): Promise<MarkReadResult>;
  /**
   * Marks a conversation read up to a message (default: its newest stored),
   * as ONE durable read position: my unread count drops at once, offline too,
   * and the position is sent in the next ack batch (to a server announcing
   * `read-positions`; until then it stays queued, see `syncStatus$.lastError`).
   * Messages in the range that asked for receipts count as read by me for
   * their senders. Only moves forward. Resolves after the IndexedDB commit.
   */
  markConversationRead(convId: string, options?: MarkConversationReadOptions): Promise<MarkConversationReadResult>;
  /**
   * Sets my receipt mode: stored at once (reads from now on are flagged by
   * it, offline too), queued as ONE change (the last wins) and sent to a
   * server announcing `read-positions`. Resolves after the IndexedDB commit.
   */
  setReceiptMode(mode: ReceiptMode): Promise<void>;
  /**
   * Receipt state of my messages, one result per message asked, in order: from
   * the server when reachable, else the stored state.
   */
  getReadReceipts(refs: MessageRef[]): Promise<ReadReceiptResult[]>;
  getReadMembers(ref: MessageRef, options: MemberPageOptions): Promise<ReadMemberPage>;
  getConversations(): Promise<Conversation[]>;
  /**
   * Older messages of a conversation: from IndexedDB what is stored, the rest
   * from the server when reachable (then stored, and the receipts of my own
   * among them refreshed).
   */
  loadOlder(convId: string, options?: LoadOlderOptions): Promise<OlderMessages>;
  /** Forwarded online/offline/visibility signals. */
  setEnvironment(signal: EnvironmentSignal): Promise<void>;
  /** Flushes now (if leader) and resolves when that flush ends. */
  flush(): Promise<void>;
  /** Drops rejected acks / failed messages from the status counts. */
  clearRejected(): Promise<void>;
  /** Test and debug introspection of the subscription registry. */
  stats(): Promise<{ subscriptions: number; queries: number }>;
  /** A new bearer token: requests and the event stream use it from now on, and a halted queue resumes. */
  setToken(token: string): Promise<void>;
  /** Stops everything and, with `wipe`, deletes this user's local database. Reports what was still unsent. */
  signOut(options: SignOutOptions): Promise<SignOutResult>;
  close(): Promise<void>;
}

/** Options of signOut. */
export interface SignOutOptions {
  /** Delete this user's IndexedDB database (shared devices). Default false: it stays for the next sign-in. */
  wipe?: boolean;
}

/** What signOut left behind: what was still queued when it stopped (lost if the database was wiped). */
export interface SignOutResult {
  wiped: boolean;
  /** Read acknowledgements not yet confirmed by the server. */
  unsentAcks: number;
  /** Own messages not yet accepted by the server. */
  unsentMessages: number;
}

/** Flush tuning; every field has a sensible default. */
export interface FlushOptions {
  /** Wait after an enqueue before flushing, to coalesce a burst of markRead calls. Default 50 ms. */
  debounceMs?: number;
  /** Slow timer while anything is pending. Default 30 s. */
  intervalMs?: number;
  /** Max acks per request; capped by the server's `maxAckBatch`. */
  ackBatchSize?: number;
  /** Backoff: base and cap, full jitter. Defaults 1 s and 60 s. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A flush request that has not answered after this long counts as a network failure (and is retried). Default 30 s. */
  requestTimeoutMs?: number;
}

/** How the browser worker entry is initialised by the client (first call after creating the Worker). */
export interface WorkerInitOptions {
  userId: string;
  /** Bearer token for the sync server. */
  token: string;
  /** Base URL of the sync server, e.g. "https://chat.example.com" (WebSocket URL is derived). */
  serverUrl: string;
  /** IndexedDB database name. Default `readsync-<userId>`. */
  dbName?: string;
  flush?: FlushOptions;
  /**
   * How many of each conversation's newest messages a sync brings (1-1,000,
   * default 100); older ones come on demand (`loadOlder`). A group with a
   * 100,000-message history then opens as fast as a short one.
   */
  historyWindow?: number;
  /**
   * The browser's online/visibility state when the client started. Without it
   * a worker assumes online and would flush leftovers from a previous run into
   * a network the page already knows is down.
   */
  initialEnvironment?: EnvironmentSignal;
}

/** What worker/index.ts exposes: the WorkerApi plus its initialisation. */
export interface WorkerEntryApi extends WorkerApi {
  init(options: WorkerInitOptions): Promise<void>;
}
