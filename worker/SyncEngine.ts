import {
  FEATURE_READ_POSITIONS,
  PullMessagesResponseSchema,
  ReceiptQueryResponseSchema,
  ServerConfigSchema,
  parsePayload,
  parseServerEvent,
  pullRequest,
  toErrorPayload,
  type Limits,
  type MessageReceipt,
  type ReadSyncError,
  type ServerConfig,
  type ServerEvent,
} from '../src/protocol';
import type { ReadSyncDb } from './db/ReadSyncDb';
import type { EventStreamStatus, Transport } from './transport/Transport';
import { applyReceipts } from './store/applyReceipts';
import { loadConfig, loadReceiptCursor, saveConfig } from './store/meta';
import { applyMyReads, applyReadPositions, loadMyReadsCursor } from './store/readPositions';
import { applyServerSettings } from './store/receiptMode';
import { isFinalReceipt, isMessageRow, isReceiptRow } from './store/readState';
import { readMany } from './store/readMany';
import { toStorageError } from './store/storageErrors';
import { storeServerMessages, upsertConversations, type StoredMessages } from './store/storeServerData';
import { recordCoverage } from './store/coverage';

/** What the sync engine needs from the worker around it. */
export interface SyncEngineDeps {
  db: ReadSyncDb;
  transport: Transport;
  userId: string;
  now(): number;
  limits(): Limits;
  /** Messages per conversation a pull brings at most (the newest ones); older ones come on demand. */
  historyWindow(): number;
  /** A (validated) server configuration arrived; it is already cached in meta. */
  onConfig(config: ServerConfig): void;
  onStreamStatus(status: EventStreamStatus): void;
  /** Errors of background work (never thrown: there is no caller to catch them). */
  onError(err: ReadSyncError): void;
  /** A catch-up ran to the end: earlier sync errors are over. */
  onSynced?(): void;
  /**
   * Validated receipt updates, as they arrive: before they are written, and
   * before the writes of earlier events queued ahead of them (the hub shows
   * them without waiting for the disk).
   */
  onReceipts?(receipts: readonly MessageReceipt[]): void;
  /** The write of receipts given to `onReceipts` failed: what was shown must be read again from the store. */
  onReceiptsFailed?(receipts: readonly MessageReceipt[]): void;
  /** Whether the flusher has this message of mine on the wire (its answer will store it: skip the echo). */
  isSending?(messageId: string): boolean;
  /** Whether this worker itself acknowledged `messageId` lately (its `my-reads` echo is skipped). */
  ackedHere?(messageId: string): boolean;
  /** Rows just committed (for the subscription hub, so it need not read them back). */
  onStored?(table: 'messages' | 'receipts', rows: readonly unknown[]): void;
  /** Stored messages queued a delivery range (issue 10.5): the flusher has something to send. */
  onDeliveryQueued?(): void;
}

/** Upper bound of pull rounds per catch-up, against a server that always says `hasMore`. */
const MAX_PULL_ROUNDS = 10_000;

/**
 * Keeps the local store in step with the server: applies the event stream
 * (messages, receipts with their resume cursor, conversations, config) in
 * arrival order, and on every (re)connect, and whenever a conversation new to
 * me appears, catches up: pulls what was missed per conversation since its
 * `pulledSeq` (the newest window of it first), then refreshes the receipt
 * state of my own messages whose receipts are not final. Every payload is validated
 * before it touches IndexedDB, and every apply is monotonic, so replays,
 * duplicates and reordering are harmless.
 */
export class SyncEngine {
  private closeStream: (() => void) | null = null;
  private chain: Promise<void> = Promise.resolve();
  private catchingUp: Promise<void> | null = null;
  private catchUpAgain = false;
  private stopped = false;
  /** Generation of the event stream: callbacks of a replaced stream are ignored. */
  private streamGen = 0;
  /**
   * `settings` events heard so far, counted as they arrive (before they are
   * applied). A pull's settings were read by the server when it answered; if
   * an event came meanwhile, it is the newer word and the pull's is dropped.
   */
  private settingsHeard = 0;

  constructor(private readonly deps: SyncEngineDeps) {}

  /** Opens the event stream from the stored receipt cursor and catches up once. */
  async start(): Promise<void> {
    await this.openStream();
    if (!this.stopped) void this.catchUp();
  }

  /**
   * Reopens the event stream from the stored cursor and catches up (after a
   * new token: the old stream was refused or ended by the server).
   */
  async restart(): Promise<void> {
    if (this.stopped) return;
    this.pause();
    await this.start();
  }

  /** Closes the event stream, e.g. while waiting for a new token; `restart` reopens it. */
  pause(): void {
    this.streamGen++;
    this.closeStream?.();
    this.closeStream = null;
  }

  /** Closes the event stream; work already queued finishes. */
  stop(): void {
    this.stopped = true;
    this.pause();
  }

  private async openStream(): Promise<void> {
    const gen = ++this.streamGen;
    const since = await loadReceiptCursor(this.deps.db).catch(() => null);
    if (this.stopped || gen !== this.streamGen) return;
    let opened = false;
    this.closeStream = this.deps.transport.openEvents(since, {
      onEvent: (event) => {
        if (gen !== this.streamGen) return;
        if ((event as { type?: unknown } | null)?.type === 'settings') this.settingsHeard++;
        // Receipts are shown on arrival, not after the events queued ahead of them are written.
        const receipts = this.previewOnArrival(event);
        this.enqueue(() => (receipts ? this.storeReceipts(receipts) : this.apply(event)));
      },
      onStatus: (status) => {
        if (gen !== this.streamGen) return;
        this.deps.onStreamStatus(status);
        if (status === 'connecting') opened = false;
        if (status === 'open') {
          opened = true;
          void this.catchUp();
        }
        // A browser WebSocket hides why its handshake failed (a 401 and an unreachable server look
        // the same): one plain request tells an expired token from being offline.
        if (status === 'closed' && !opened) void this.fetchConfig();
      },
    });
  }

  /** Resolves when queued events and any running catch-up are done. */
  async idle(): Promise<void> {
    for (;;) {
      const chain = this.chain;
      const catchingUp = this.catchingUp;
      await chain;
      if (catchingUp) await catchingUp;
      if (chain === this.chain && catchingUp === this.catchingUp) return;
    }
  }

  /**
   * Pulls missed messages and refreshes unfinished receipts. Single-flight: a
   * call while one runs schedules exactly one more run after it.
   */
  catchUp(): Promise<void> {
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return this.catchingUp;
    }
    const run = async (): Promise<void> => {
      do {
        this.catchUpAgain = false;
        try {
          await this.fetchConfig();
          await this.pullAll();
          await this.refreshReceipts();
          if (!this.stopped) this.deps.onSynced?.();
        } catch (err) {
          this.report(err);
        }
      } while (this.catchUpAgain && !this.stopped);
    };
    this.catchingUp = run().finally(() => (this.catchingUp = null));
    return this.catchingUp;
  }

  /** Applies one server event (validated again: the transport is not trusted blindly). */
  async apply(raw: unknown): Promise<void> {
    const event: ServerEvent = parseServerEvent(raw);
    const { db } = this.deps;
    switch (event.type) {
      case 'hello': {
        await this.storeConfig(event.config);
        if (event.cursor !== undefined && (await loadReceiptCursor(db)) === null) await applyReceipts(db, [], event.cursor);
        return;
      }
      case 'messages': {
        // The echo of my own messages that the flusher is still sending: its answer stores the same fields,
        // so a bulk send does not write every message twice.
        const sending = this.deps.isSending;
        const fresh = sending ? event.messages.filter((m) => !sending(m.id)) : event.messages;
        if (fresh.length === 0) return;
        // Not `onStored?.(…, await …)`: without a listener, optional chaining would skip the await and the write.
        // One commit's messages of one conversation: a complete run of its positions.
        const stored = await storeServerMessages(db, fresh, this.deps.now(), this.deps.userId, { contiguous: true });
        this.stored(stored);
        return;
      }
      case 'receipts': {
        this.deps.onReceipts?.(event.receipts);
        return this.storeReceipts(event);
      }
      case 'my-reads': {
        // Reads made on another device of mine: read here too, never acknowledged again from here.
        // The echo of my own acks from this worker needs no look; reads from my other devices do.
        const ackedHere = this.deps.ackedHere;
        const reads = ackedHere ? event.reads.filter(([m]) => !ackedHere(m)) : event.reads;
        const read = reads.length > 0 ? await applyMyReads(db, reads, this.deps.userId) : [];
        const positioned = await applyReadPositions(db, event.positions);
        this.deps.onStored?.('messages', [...read, ...positioned]);
        return;
      }
      case 'settings': {
        // Changed on one of my devices (this one included: then it is what the answer set already).
        await applyServerSettings(db, event.settings);
        return;
      }
      case 'conversation': {
        const known = await db.conversations.get(event.conversation.id);
        await upsertConversations(db, [event.conversation]);
        // A conversation new to me (I was added, or it was created with me in it): bring its
        // history now, not at the next reconnect. The pull asks only for what is missing.
        if (!known) void this.catchUp();
        return;
      }
    }
  }

  /**
   * Pulls every conversation's messages after its `pulledSeq`, the newest
   * `historyWindow` of each at most (the server says where it skipped: the
   * older ones come with loadOlder), looping while the server has more.
   * Records what each page covers, so a skipped stretch is known as a gap.
   */
  async pullAll(): Promise<void> {
    const { db, transport } = this.deps;
    // My reads on my other devices (issue 10), from a server that has them.
    const myReads = (await loadConfig(db))?.features?.includes(FEATURE_READ_POSITIONS) === true;
    for (let round = 0; round < MAX_PULL_ROUNDS && !this.stopped; round++) {
      // A Map, not an object: `since['__proto__'] = n` would set a prototype and lose the position.
      const since = new Map<string, number>();
      for (const c of await db.conversations.toArray()) if (typeof c.pulledSeq === 'number') since.set(c.id, c.pulledSeq);
      const req = pullRequest(since, undefined, this.deps.historyWindow());
      if (myReads) {
        // Absent on the first pull: the server starts from now (older reads come as `readAt` on messages).
        const cursor = await loadMyReadsCursor(db);
        if (cursor !== null) req.myReadsAfter = cursor;
      }
      const heard = this.settingsHeard;
      const res = parsePayload(PullMessagesResponseSchema, await transport.pullMessages(req), 'pull-messages-result');
      await upsertConversations(db, res.conversations);
      // Each conversation's messages in a page are a complete run (from its `since`, or its newest window).
      this.stored(await storeServerMessages(db, res.messages, this.deps.now(), this.deps.userId, { contiguous: true }));
      // After the messages: a position also marks read the ones this page just stored.
      const positioned = await applyReadPositions(db, res.readPositions ?? []);
      const read = res.myReads ? await applyMyReads(db, res.myReads.reads, this.deps.userId, res.myReads.cursor) : [];
      // My receipt mode as the server keeps it (unless a change of mine still waits to be sent), unless a
      // `settings` event came while the pull was out: the server may have read this answer before that change.
      if (res.settings && heard === this.settingsHeard) await applyServerSettings(db, res.settings);
      this.deps.onStored?.('messages', [...positioned, ...read]);
      const reached = new Map<string, number>();
      for (const m of res.messages) reached.set(m.convId, Math.max(reached.get(m.convId) ?? 0, m.seq));
      // Only a final page proves a conversation complete up to its seq (membership changes use seqs too).
      if (!res.hasMore) for (const c of res.conversations) reached.set(c.id, Math.max(reached.get(c.id) ?? 0, c.seq));
      const skipped = new Map(res.skipped ?? []);
      const covered = new Map<string, [number, number]>();
      for (const [convId, hi] of reached) covered.set(convId, [skipped.get(convId) ?? since.get(convId) ?? 0, hi]);
      await recordCoverage(db, covered);
      const moreMessages = res.hasMore && res.messages.length > 0;
      const moreReads = res.myReads?.hasMore === true && res.myReads.reads.length > 0;
      if (!moreMessages && !moreReads) return;
    }
  }

  /** Asks the server for the receipts of my sent messages that may still change, in batches of `maxReceiptQuery`. */
  async refreshReceipts(): Promise<void> {
    const { db, transport, userId } = this.deps;
    // One getAll over the sparse index of my messages with receipts: O(mine), not O(all messages).
    const own = await db.messages.where('ownWithReceipts').equals(1).toArray();
    const mine = own.filter((m) => isMessageRow(m) && m.status === 'sent' && m.senderId === userId && m.needReadReceipt).map((m) => m.id);
    const receipts = await readMany(db.receipts, mine);
    const open = mine.filter((_, i) => {
      const r = receipts[i];
      return !isFinalReceipt(r !== undefined && isReceiptRow(r) ? r : undefined);
    });
    const size = this.deps.limits().maxReceiptQuery;
    for (let i = 0; i < open.length && !this.stopped; i += size) {
      const res = await transport.queryReceipts({ type: 'receipt-query', messageIds: open.slice(i, i + size) });
      const parsed = parsePayload(ReceiptQueryResponseSchema, res, 'receipt-query-result');
      const stored = await applyReceipts(db, parsed.receipts);
      this.deps.onStored?.('receipts', stored);
    }
  }

  /**
   * A receipts event just off the stream: validated now (it is small, and
   * synchronous) and handed to `onReceipts` at once. Anything else, or a
   * receipts event that fails validation, is left to `apply` in its turn,
   * which reports it in order.
   */
  private previewOnArrival(raw: unknown): Extract<ServerEvent, { type: 'receipts' }> | null {
    if (!this.deps.onReceipts || (raw as { type?: unknown } | null)?.type !== 'receipts') return null;
    let event: ServerEvent;
    try {
      event = parseServerEvent(raw);
    } catch {
      return null;
    }
    if (event.type !== 'receipts') return null;
    this.deps.onReceipts(event.receipts);
    return event;
  }

  /** Writes receipts already shown; if the write fails, what was shown is taken back to the stored state. */
  private async storeReceipts(event: Extract<ServerEvent, { type: 'receipts' }>): Promise<void> {
    let stored: unknown[];
    try {
      stored = await applyReceipts(this.deps.db, event.receipts, event.cursor);
    } catch (err) {
      this.deps.onReceiptsFailed?.(event.receipts);
      throw err;
    }
    this.deps.onStored?.('receipts', stored);
  }

  private stored(stored: StoredMessages): void {
    this.deps.onStored?.('messages', stored.rows);
    if (stored.deliveryQueued) this.deps.onDeliveryQueued?.();
  }

  private async fetchConfig(): Promise<void> {
    try {
      await this.storeConfig(await this.deps.transport.getConfig());
    } catch (err) {
      // The hello event carries the config too; a failed fetch here is not fatal by itself.
      this.report(err);
    }
  }

  private async storeConfig(raw: unknown): Promise<void> {
    const config = parsePayload(ServerConfigSchema, raw, 'server config');
    await saveConfig(this.deps.db, config);
    this.deps.onConfig(config);
  }

  private enqueue(job: () => Promise<void>): void {
    this.chain = this.chain.then(job).catch((err: unknown) => this.report(err));
  }

  private report(err: unknown): void {
    if (this.stopped) return;
    const e = toStorageError(err, 'sync');
    if (toErrorPayload(e).code === 'closed') return;
    this.deps.onError(e);
  }
}
