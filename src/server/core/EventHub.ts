import type { Conversation, Message, MessageReceipt, ServerConfig, ServerEvent } from '../../protocol';
import { PROTOCOL_VERSION } from '../../protocol';
import type { ChangeListener, ConversationRecord, MessageRecord, Store, StoreChange } from '../store/Store';
import { toMessage } from './toMessage';
import { toReceipt } from './toReceipt';

/** Receipts per replayed `receipts` event, and rows per read of the receipt stream. */
const REPLAY_CHUNK = 500;

interface Subscriber {
  userId: string;
  listener: (event: ServerEvent) => void;
  /** Receipt cursor this subscriber has been brought up to; older receipt events are skipped. */
  cursor: number;
  /** While its hello and replay are being read: deliveries wait here, in order. */
  queue: (() => void)[] | null;
  closed: boolean;
  /** Asks the subscriber's client to reconnect (and so to catch up from the store). */
  reconnect?: () => void;
}

/** Options of `EventHub.subscribe`. */
export interface SubscribeOptions {
  /**
   * Called when this process may have missed changes it cannot replay itself
   * (a shared store's notifications were interrupted): the client should
   * reconnect, which makes it pull and resume from its cursor.
   */
  reconnect?: () => void;
}

/**
 * Fans server events out to the connected users' listeners.
 *
 * Receipt changes are coalesced per message and sent to the sender only, as
 * current (absolute) states, with the highest global ack sequence included as
 * `cursor`. Because the store indexes each sender's messages by their latest
 * ack sequence, a subscriber that comes back with `since` gets every change
 * after it, as current states.
 *
 * Where changes come from depends on the store:
 * - a single-process store (SQLite, memory): the core reports each change
 *   after its commit (`receiptChanged`, `messages`, `conversation`), and a
 *   flush reads the changed messages' current state;
 * - a shared store (`store.changes`, PostgreSQL): every process's commits,
 *   this one's included, arrive as positions through the store's change feed,
 *   and the hub reads what changed from the store: the receipt stream after
 *   the position it has delivered up to, the messages of a conversation in a
 *   range of its sequence. Nothing is taken from memory, so a process that
 *   missed notifications catches up from the database.
 */
export class EventHub {
  private subs = new Map<string, Set<Subscriber>>();
  /** Single-process stores: senderId → changed message ids, waiting for the next flush. */
  private pending = new Map<string, Set<string>>();
  private flushScheduled = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The flush running now, and whether another must follow it. */
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  /** `messages` and `conversation` fan-outs, one after another in commit order. */
  private fanouts: Promise<void> = Promise.resolve();
  /** Shared stores: receipt positions delivered up to, and committed (notified) up to. */
  private position = 0;
  private target = 0;
  private ready: Promise<void> = Promise.resolve();
  private stopFeed: (() => Promise<void>) | undefined;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly config: () => ServerConfig,
    private readonly view: (rec: ConversationRecord, viewerId: string) => Conversation,
    /** Coalescing window: 0 = flush once this event-loop turn's work is done (setImmediate), else after this many ms. */
    private readonly flushMs = 0,
    /** Reports errors of background work (a failed fan-out must not crash the process). */
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Whether changes come from the store's change feed (shared store) rather than from this process's core. */
  get fromFeed(): boolean {
    return this.store.changes !== undefined;
  }

  /**
   * Starts listening to the store's change feed, if it has one. Subscribers
   * that arrive before it is done wait for it.
   */
  start(): Promise<void> {
    const feed = this.store.changes;
    if (!feed || this.stopFeed) return this.ready;
    const listener: ChangeListener = {
      change: (c) => this.onChange(c),
      resync: () => this.resync(),
    };
    this.ready = (async () => {
      this.stopFeed = await feed.listen(listener);
      // Positions notified from here on are caught; everything before is the starting point.
      this.position = this.target = await this.store.lastAckSeq();
    })();
    return this.ready;
  }

  /** Users with at least one open stream (to fan out without listing a group's members). */
  connectedUsers(): string[] {
    return [...this.subs.keys()];
  }

  /**
   * Adds a listener of `userId`'s events and returns the function that
   * removes it. The `hello` event (and, with `since`, the replay of receipt
   * changes after it) are read from the store first; live events that arrive
   * meanwhile follow them, in order.
   */
  subscribe(userId: string, since: number | null, listener: (event: ServerEvent) => void, options: SubscribeOptions = {}): () => void {
    const sub: Subscriber = { userId, listener, cursor: 0, queue: [], closed: false, reconnect: options.reconnect };
    let set = this.subs.get(userId);
    if (!set) this.subs.set(userId, (set = new Set()));
    set.add(sub);
    void this.open(sub, since).catch((err: unknown) => {
      this.onError(err);
      sub.queue = null;
      sub.reconnect?.();
    });
    return () => {
      sub.closed = true;
      const s = this.subs.get(userId);
      s?.delete(sub);
      if (s?.size === 0) this.subs.delete(userId);
    };
  }

  private async open(sub: Subscriber, since: number | null): Promise<void> {
    await this.ready;
    const last = await this.store.lastAckSeq();
    if (sub.closed) return;
    // A `since` beyond the server's sequence (e.g. a reset database) is clamped, so live updates still flow.
    sub.cursor = Math.min(since ?? Infinity, last);
    deliver(sub, { type: 'hello', protocolVersion: PROTOCOL_VERSION, userId: sub.userId, config: this.config(), cursor: last });
    if (since !== null) {
      for (;;) {
        const changed = await this.store.receiptChangesOf(sub.userId, sub.cursor, REPLAY_CHUNK);
        if (sub.closed) return;
        if (changed.length === 0) break;
        this.sendReceipts(sub, changed);
        if (changed.length < REPLAY_CHUNK) break;
      }
    }
    const queued = sub.queue ?? [];
    sub.queue = null;
    for (const send of queued) send();
  }

  /** New messages (after commit), to every connected current member of their conversation. */
  messages(convId: string, messages: Message[]): void {
    if (messages.length === 0 || this.fromFeed) return;
    this.fanout(async () => {
      for (const userId of await this.store.membersAmong(convId, this.connectedUsers())) this.emit(userId, { type: 'messages', messages });
    });
  }

  /**
   * A conversation was created or its membership changed at position `seq`
   * (after commit); `view(userId)` gives each recipient's view. Goes to its
   * connected members and to `extraUsers` (a member who just left).
   */
  conversation(convId: string, _seq: number, extraUsers: readonly string[], view: (userId: string) => Conversation): void {
    if (this.fromFeed) return;
    this.fanout(async () => {
      const connected = this.connectedUsers();
      const to = new Set(await this.store.membersAmong(convId, connected));
      for (const u of extraUsers) if (this.subs.has(u)) to.add(u);
      for (const userId of to) this.emit(userId, { type: 'conversation', conversation: view(userId) });
    });
  }

  /**
   * An event for every connected device of `userId` (after commit): their own
   * reads, their settings. On a shared store, `my-reads` goes out through the
   * change feed instead, from every process to the devices connected to it.
   */
  toUser(userId: string, event: ServerEvent): void {
    // A shared store tells every process, this one included, through its change feed (`reads`).
    if (this.fromFeed && (event.type === 'my-reads' || event.type === 'settings')) return;
    this.emit(userId, event);
  }

  /** A message's receipt state changed (after commit). Sent to its sender at the next flush. */
  receiptChanged(senderId: string, messageId: string): void {
    if (this.fromFeed || !this.subs.has(senderId)) return; // nobody to tell now; a later `since` replays it
    let set = this.pending.get(senderId);
    if (!set) this.pending.set(senderId, (set = new Set()));
    set.add(messageId);
    this.scheduleFlush();
  }

  /** Drops every subscriber and pending change, and stops listening to the store (server shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.flushScheduled = false;
    this.pending.clear();
    this.subs.clear();
    const stop = this.stopFeed;
    this.stopFeed = undefined;
    await this.ready.catch(() => undefined);
    await stop?.();
    await this.flushing?.catch(() => undefined);
    await this.fanouts;
  }

  /** Sends every pending receipt change now; resolves when it is sent. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.flushScheduled = false;
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.flushAgain = false;
          if (this.fromFeed) await this.flushFromFeed();
          else await this.flushPending();
        } while (this.flushAgain && !this.closed);
      } finally {
        this.flushing = null;
      }
    };
    this.flushing = run();
    return this.flushing;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    const go = () => void this.flush().catch(this.onError);
    if (this.flushMs > 0) this.timer = setTimeout(go, this.flushMs);
    else setImmediate(go);
  }

  private onChange(c: StoreChange): void {
    if (this.closed) return;
    if (c.kind === 'receipts') {
      if (c.position <= this.target) return;
      this.target = c.position;
      this.scheduleFlush();
    } else if (c.kind === 'messages') {
      this.fanout(() => this.messagesFromStore(c.convId, c.fromSeq, c.toSeq));
    } else if (c.kind === 'reads') {
      if (this.subs.has(c.userId)) this.fanout(() => this.readsFromStore(c.userId, c.afterAckSeq, c.positions));
    } else if (c.kind === 'settings') {
      if (this.subs.has(c.userId)) this.fanout(() => this.settingsFromStore(c.userId));
    } else {
      this.fanout(() => this.conversationFromStore(c.convId, c.seq));
    }
  }

  /**
   * The feed was interrupted: receipts are read again from the store after the
   * delivered position; messages and conversation changes have no global
   * position to resume from, so the connected clients are asked to reconnect
   * (they pull, and resume receipts from their cursors).
   */
  private resync(): void {
    if (this.closed) return;
    void this.store.lastAckSeq().then((last) => {
      this.target = Math.max(this.target, last);
      this.scheduleFlush();
    }, this.onError);
    for (const set of this.subs.values()) for (const sub of set) sub.reconnect?.();
  }

  /** Single-process store: the current state of each changed message, to its sender. */
  private async flushPending(): Promise<void> {
    const pending = this.pending;
    this.pending = new Map();
    for (const [senderId, ids] of pending) {
      if (!this.subs.has(senderId)) continue;
      const records = await this.store.getMessages([...ids]);
      records.sort((a, b) => a.lastAckSeq - b.lastAckSeq);
      for (const sub of this.subs.get(senderId) ?? []) this.sendReceipts(sub, records);
    }
  }

  /** Shared store: the receipt stream after the delivered position, each change to its sender if connected here. */
  private async flushFromFeed(): Promise<void> {
    await this.ready;
    for (;;) {
      const target = this.target;
      if (this.subs.size === 0) {
        // Nobody to tell: a subscriber that comes later replays from its own cursor.
        this.position = Math.max(this.position, target);
        return;
      }
      const rows = await this.store.changes!.receiptStatesAfter(this.position, REPLAY_CHUNK);
      const bySender = new Map<string, MessageRecord[]>();
      for (const m of rows) {
        if (!this.subs.has(m.senderId)) continue;
        let list = bySender.get(m.senderId);
        if (!list) bySender.set(m.senderId, (list = []));
        list.push(m);
      }
      for (const [senderId, records] of bySender) for (const sub of this.subs.get(senderId) ?? []) this.sendReceipts(sub, records);
      const last = rows[rows.length - 1];
      // Positions are committed in order, so the read saw everything up to the notified target.
      this.position = Math.max(this.position, last?.lastAckSeq ?? 0, rows.length < REPLAY_CHUNK ? target : 0);
      if (rows.length < REPLAY_CHUNK) return;
    }
  }

  private async messagesFromStore(convId: string, fromSeq: number, toSeq: number): Promise<void> {
    const connected = this.connectedUsers();
    if (connected.length === 0) return;
    const to = await this.store.membersAmong(convId, connected);
    if (to.length === 0) return;
    const records = await this.store.messagesAfter(convId, fromSeq, toSeq - fromSeq);
    const messages = records.filter((m) => m.seq <= toSeq).map(toMessage);
    if (messages.length === 0) return;
    for (const userId of to) this.emit(userId, { type: 'messages', messages });
  }

  /**
   * Shared store: a user's own reads after `afterAckSeq` (at most a replay
   * chunk: the event is a hint, and the devices' pulls bring every read after
   * their cursor) and, if positions moved, their current read positions.
   */
  private async readsFromStore(userId: string, afterAckSeq: number, positions: boolean): Promise<void> {
    const reads = await this.store.readsByUserAfter(userId, afterAckSeq, REPLAY_CHUNK);
    const moved = positions ? await this.store.readPositionsOf(userId, await this.store.conversationsOf(userId)) : [];
    if (reads.length === 0 && moved.length === 0) return;
    this.emit(userId, {
      type: 'my-reads',
      reads: reads.map((r): [string, number] => [r.messageId, r.readAt]),
      positions: moved.map((p): [string, number, number] => [p.convId, p.seq, p.readAt]),
    });
  }

  /** Shared store: a user's settings changed on some node; their devices here get the settings now. */
  private async settingsFromStore(userId: string): Promise<void> {
    this.emit(userId, { type: 'settings', settings: { receipts: await this.store.getReceiptMode(userId) } });
  }

  private async conversationFromStore(convId: string, seq: number): Promise<void> {
    const connected = this.connectedUsers();
    if (connected.length === 0) return;
    const to = await this.store.membersAmong(convId, connected, seq);
    if (to.length === 0) return;
    const rec = await this.store.getConversation(convId);
    if (!rec) return;
    for (const userId of to) this.emit(userId, { type: 'conversation', conversation: this.view(rec, userId) });
  }

  private fanout(work: () => Promise<void>): void {
    this.fanouts = this.fanouts.then(work).catch(this.onError);
  }

  private sendReceipts(sub: Subscriber, records: readonly MessageRecord[]): void {
    if (sub.queue) {
      sub.queue.push(() => this.sendReceipts(sub, records));
      return;
    }
    for (let i = 0; i < records.length; i += REPLAY_CHUNK) {
      const chunk = records.slice(i, i + REPLAY_CHUNK);
      const cursor = chunk.reduce((max, m) => Math.max(max, m.lastAckSeq), 0);
      // Everything up to sub.cursor was already delivered (or replayed) as current state.
      if (cursor <= sub.cursor) continue;
      const receipts: MessageReceipt[] = chunk.map(toReceipt);
      sub.cursor = cursor;
      deliver(sub, { type: 'receipts', receipts, cursor });
    }
  }

  private emit(userId: string, event: ServerEvent): void {
    for (const sub of this.subs.get(userId) ?? []) {
      if (sub.queue) sub.queue.push(() => deliver(sub, event));
      else deliver(sub, event);
    }
  }
}

function deliver(sub: Subscriber, event: ServerEvent): void {
  if (sub.closed) return;
  try {
    sub.listener(event);
  } catch {
    // A failing listener (e.g. a closed socket) must not stop the others.
  }
}
