import Dexie from 'dexie';
import {
  HistoryQueryResponseSchema,
  ReadSyncError,
  ReceiptQueryResponseSchema,
  ReceiptRuleError,
  ValidationError,
  parsePayload,
  type Limits,
  type Message,
} from '../src/protocol';
import type { OlderMessages } from '../src/bridge';
import type { ReadSyncDb } from './db/ReadSyncDb';
import type { Transport } from './transport/Transport';
import { applyReceipts } from './store/applyReceipts';
import { coverageOf, floorBefore, historyFloor, recordCoverage } from './store/coverage';
import { isMessageRow } from './store/readState';
import { storeServerMessages } from './store/storeServerData';
import { toStorageError, withStorage } from './store/storageErrors';
import { toLocalMessages } from './subscriptions/loadMessageWindow';

/** What HistoryLoader needs. */
export interface HistoryLoaderDeps {
  db: ReadSyncDb;
  transport: Transport;
  userId: string;
  now(): number;
  limits(): Limits;
  /** A request failed for a retryable reason: the store answered instead. */
  onNetworkError(err: ReadSyncError): void;
  /** A request was answered. */
  onSuccess(): void;
  /** Rows just committed (see SyncEngineDeps.onStored). */
  onStored(table: 'messages' | 'receipts', rows: readonly unknown[]): void;
  /** Stored messages queued a delivery range (see SyncEngineDeps.onDeliveryQueued). */
  onDeliveryQueued?(): void;
}

/** Refusals after which a page is answered from the store with nothing older: the conversation is not (or no longer) mine. */
const GONE = new Set(['not-member', 'not-found']);

/**
 * Older messages on demand (`loadOlder`). The store answers what it holds of
 * the history stored without a gap; what is missing below it comes from the
 * server (`history-query`) and is stored, its coverage recorded (which also
 * closes a gap left by a long absence), and the receipts of my own messages
 * among it refreshed. Offline, the page is what the store holds.
 */
export class HistoryLoader {
  constructor(private readonly deps: HistoryLoaderDeps) {}

  async loadOlder(convId: string, count: number, before: string | undefined): Promise<OlderMessages> {
    const local = await this.readLocal(convId, count, before);
    if (local.rows.length >= count || local.floor === 0) return this.page(local.rows, count, local.floor);
    let floor = local.floor;
    try {
      floor = await this.fetch(convId, floor, count - local.rows.length);
    } catch (err) {
      const e = err instanceof ReadSyncError ? err : toStorageError(err, 'loadOlder');
      if (e.retryable) this.deps.onNetworkError(e);
      else if (GONE.has(e.code)) floor = 0;
      else throw e;
      return this.page(local.rows, count, floor);
    }
    // The same end as before: with `before` absent, the oldest message shown has just changed.
    const again = await this.readLocal(convId, count, before, local.end);
    return this.page(again.rows, count, floor);
  }

  /**
   * Up to `count + 1` stored rows right before `before` (default: before the
   * oldest message of the history shown), ascending, none below the point
   * where the stored history before it stops being complete (`floor`).
   */
  private readLocal(convId: string, count: number, before: string | undefined, knownEnd?: number): Promise<{ rows: unknown[]; floor: number; end: number }> {
    const { db } = this.deps;
    return withStorage('loadOlder', () =>
      db.transaction('r', [db.messages, db.conversations], async () => {
        const coverage = coverageOf(await db.conversations.get(convId));
        const index = db.messages.where('[convId+pos]');
        let end: number;
        if (knownEnd !== undefined) end = knownEnd;
        else if (before !== undefined) {
          const row = await db.messages.get(before);
          if (row === undefined || !isMessageRow(row)) throw new ReceiptRuleError('not-found', `loadOlder: no message ${before} is stored here`);
          if (row.convId !== convId) throw new ValidationError(`loadOlder: message ${before} is not in conversation ${convId}`);
          end = row.pos;
        } else {
          const top = historyFloor(coverage);
          const [oldest] = await index.between([convId, top], [convId, Dexie.maxKey], false, true).limit(1).keys();
          end = (oldest as [string, number] | undefined)?.[1] ?? top + 1;
        }
        const floor = floorBefore(coverage, end);
        const rows = end > floor ? await index.between([convId, floor], [convId, end], false, false).reverse().limit(count + 1).toArray() : [];
        return { rows: rows.reverse(), floor, end };
      }),
    );
  }

  /** The newest `count` of `rows` as the UI gets them; older ones exist if a row was left over or history is missing below. */
  private async page(rows: unknown[], count: number, floor: number): Promise<OlderMessages> {
    const { db } = this.deps;
    const extra = rows.length > count;
    const mine = extra ? rows.slice(rows.length - count) : rows;
    const messages = await withStorage('loadOlder', () => db.transaction('r', [db.messages, db.outbox], () => toLocalMessages(db, mine)));
    return { messages, hasOlder: extra || floor > 0 };
  }

  /** Fetches `count` messages below the floor, stores them and their coverage; returns the new floor. */
  private async fetch(convId: string, floor: number, count: number): Promise<number> {
    const { db, transport, userId } = this.deps;
    const res = parsePayload(HistoryQueryResponseSchema, await transport.history({ type: 'history-query', convId, before: floor + 1, count }), 'history-result');
    this.deps.onSuccess();
    // Only what was asked for: a server answering with another conversation's messages gets nothing stored.
    const messages = res.messages.filter((m) => m.convId === convId && m.seq <= floor);
    const first = messages[0];
    const lo = res.hasOlder && first ? first.seq - 1 : res.hasOlder ? floor : 0;
    await withStorage('loadOlder', async () => {
      // The page is a complete run of the conversation's positions (the newest ones below the floor).
      const stored = await storeServerMessages(db, messages, this.deps.now(), userId, { contiguous: true });
      this.deps.onStored('messages', stored.rows);
      if (stored.deliveryQueued) this.deps.onDeliveryQueued?.();
      await recordCoverage(db, new Map([[convId, [lo, floor] as const]]));
    });
    await this.refreshReceipts(messages.filter((m) => m.senderId === userId && m.needReadReceipt));
    return lo;
  }

  /** Receipts of my messages that just arrived as history (best effort: the next catch-up refreshes what fails). */
  private async refreshReceipts(mine: readonly Message[]): Promise<void> {
    const { db, transport } = this.deps;
    const size = this.deps.limits().maxReceiptQuery;
    try {
      for (let i = 0; i < mine.length; i += size) {
        const ids = mine.slice(i, i + size).map((m) => m.id);
        const res = parsePayload(ReceiptQueryResponseSchema, await transport.queryReceipts({ type: 'receipt-query', messageIds: ids }), 'receipt-query-result');
        this.deps.onStored('receipts', await applyReceipts(db, res.receipts));
      }
    } catch (err) {
      const e = err instanceof ReadSyncError ? err : toStorageError(err, 'loadOlder: receipts');
      if (e.retryable) this.deps.onNetworkError(e);
    }
  }
}
