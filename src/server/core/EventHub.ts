import type { Conversation, Message, MessageReceipt, ServerConfig, ServerEvent } from '../../protocol';
import { PROTOCOL_VERSION } from '../../protocol';
import type { MessageRecord, Store } from '../store/Store';
import { toReceipt } from './toReceipt';

/** Receipts per replayed `receipts` event. */
const REPLAY_CHUNK = 500;

interface Subscriber {
  userId: string;
  listener: (event: ServerEvent) => void;
  /** Receipt cursor this subscriber has been brought up to; older receipt events are skipped. */
  cursor: number;
}

/**
 * Fans server events out to the connected users' listeners.
 *
 * Receipt changes are coalesced per message: the core reports each changed
 * message as its batch commits, and one flush per microtask reads the current
 * (absolute) state of every changed message and sends it to its sender only,
 * with the highest global ack sequence included as `cursor`. Because the store
 * indexes each sender's messages by their latest ack sequence, a subscriber
 * that comes back with `since` gets every change after it, as current states.
 */
export class EventHub {
  private subs = new Map<string, Set<Subscriber>>();
  /** senderId → changed message ids, waiting for the next flush. */
  private pending = new Map<string, Set<string>>();
  private flushScheduled = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly store: Store,
    private readonly config: () => ServerConfig,
    /** Coalescing window: 0 = flush at the next microtask, else after this many ms. */
    private readonly flushMs = 0,
  ) {}

  /** Users with at least one open stream (to fan out without listing a group's members). */
  connectedUsers(): string[] {
    return [...this.subs.keys()];
  }

  subscribe(userId: string, since: number | null, listener: (event: ServerEvent) => void): () => void {
    // A `since` beyond the server's sequence (e.g. a reset database) is clamped, so live updates still flow.
    const sub: Subscriber = { userId, listener, cursor: Math.min(since ?? Infinity, this.store.lastAckSeq()) };
    const hello: ServerEvent = { type: 'hello', protocolVersion: PROTOCOL_VERSION, userId, config: this.config(), cursor: this.store.lastAckSeq() };
    deliver(sub, hello);
    if (since !== null) {
      for (;;) {
        const changed = this.store.receiptChangesOf(userId, sub.cursor, REPLAY_CHUNK);
        if (changed.length === 0) break;
        this.sendReceipts(sub, changed);
        if (changed.length < REPLAY_CHUNK) break;
      }
    }
    let set = this.subs.get(userId);
    if (!set) this.subs.set(userId, (set = new Set()));
    set.add(sub);
    return () => {
      const s = this.subs.get(userId);
      s?.delete(sub);
      if (s?.size === 0) this.subs.delete(userId);
    };
  }

  /** New messages, to every connected current member of their conversation. */
  messages(convId: string, messages: Message[]): void {
    if (messages.length === 0) return;
    for (const userId of this.connectedUsers()) {
      if (!this.store.currentSpan(convId, userId)) continue;
      this.emit(userId, { type: 'messages', messages });
    }
  }

  /** A conversation changed; `view(userId)` gives each recipient's view. */
  conversation(convId: string, extraUsers: readonly string[], view: (userId: string) => Conversation): void {
    for (const userId of this.connectedUsers()) {
      if (!this.store.currentSpan(convId, userId) && !extraUsers.includes(userId)) continue;
      this.emit(userId, { type: 'conversation', conversation: view(userId) });
    }
  }

  /** A message's receipt state changed (after commit). Sent to its sender at the next flush. */
  receiptChanged(senderId: string, messageId: string): void {
    if (!this.subs.has(senderId)) return; // nobody to tell now; a later `since` replays it
    let set = this.pending.get(senderId);
    if (!set) this.pending.set(senderId, (set = new Set()));
    set.add(messageId);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      if (this.flushMs > 0) this.timer = setTimeout(() => this.flush(), this.flushMs);
      else void Promise.resolve().then(() => this.flush());
    }
  }

  /** Drops every subscriber and pending change (server shutdown). */
  close(): void {
    clearTimeout(this.timer);
    this.flushScheduled = false;
    this.pending.clear();
    this.subs.clear();
  }

  /** Sends every pending receipt change now. */
  flush(): void {
    clearTimeout(this.timer);
    this.flushScheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [senderId, ids] of pending) {
      const subs = this.subs.get(senderId);
      if (!subs) continue;
      const records: MessageRecord[] = [];
      for (const id of ids) {
        const m = this.store.getMessage(id);
        if (m) records.push(m);
      }
      records.sort((a, b) => a.lastAckSeq - b.lastAckSeq);
      for (const sub of subs) this.sendReceipts(sub, records);
    }
  }

  private sendReceipts(sub: Subscriber, records: readonly MessageRecord[]): void {
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
    for (const sub of this.subs.get(userId) ?? []) deliver(sub, event);
  }
}

function deliver(sub: Subscriber, event: ServerEvent): void {
  try {
    sub.listener(event);
  } catch {
    // A failing listener (e.g. a closed socket) must not stop the others.
  }
}
