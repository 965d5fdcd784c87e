import {
  FEATURE_DELIVERY,
  ReadMemberPageSchema,
  ReadSyncError,
  ReceiptQueryResponseSchema,
  ReceiptRuleError,
  MemberPageResponseSchema,
  parseArgument,
  parsePayload,
  type Limits,
  type ReadMemberPage,
  type RejectReason,
} from '../src/protocol';
import type { MemberPageOptions, ReadReceiptResult, ReceiptSkipReason } from '../src/bridge';
import type { MessageRow, ReadSyncDb } from './db/ReadSyncDb';
import type { Transport } from './transport/Transport';
import { MemberOptionsSchema } from './apiSchemas';
import { applyReceipts } from './store/applyReceipts';
import { deliveredOf, initialReceipt, isMessageRow, isReceiptRow } from './store/readState';
import { loadConfig } from './store/meta';
import { readMany } from './store/readMany';
import { toStorageError, withStorage } from './store/storageErrors';

/** What ReceiptQueries needs. */
export interface ReceiptQueriesDeps {
  db: ReadSyncDb;
  transport: Transport;
  userId: string;
  now(): number;
  limits(): Limits;
  /** A request failed for a retryable reason: we answered from the store instead. */
  onNetworkError(err: ReadSyncError): void;
  /** A request was answered: an earlier failure of these queries is over. */
  onSuccess?(): void;
  /** Receipt rows just committed (see SyncEngineDeps.onStored). */
  onStored?(table: 'receipts', rows: readonly unknown[]): void;
}

const asError = (err: unknown): ReadSyncError => (err instanceof ReadSyncError ? err : toStorageError(err, 'request'));

/** The reason to report for a server refusal of a receipt query item. */
function skipReason(r: RejectReason): ReceiptSkipReason {
  return r === 'not-sender' || r === 'receipt-not-requested' ? r : 'not-found';
}

/**
 * The sender's pulls: receipt state of my messages and read/unread member
 * pages. Online they come from the server (and update the store, monotonic);
 * when the server cannot be reached (retryable errors) they come from the
 * store, so they work offline. Sender-only rules are checked locally first
 * when the message is known; the server checks them again.
 */
export class ReceiptQueries {
  constructor(private readonly deps: ReceiptQueriesDeps) {}

  /**
   * One result per id, in the order asked (duplicates answered twice): the
   * receipt of my sent message that asked for receipts, or why there is none.
   * Known rows are judged here; the others, and my receipt-bearing messages,
   * are asked of the server, whose per-item refusals become the reasons. When
   * the server cannot be reached, the store answers (unknown ids: not-found).
   */
  async receipts(ids: readonly string[]): Promise<ReadReceiptResult[]> {
    const { db, transport, userId } = this.deps;
    const unique = [...new Set(ids)];
    const rows = await withStorage('getReadReceipts', () => readMany(db.messages, unique));
    // A Map: ids come from the caller and the network, and may be named `__proto__`.
    const answers = new Map<string, ReadReceiptResult>();
    const mine = new Map<string, MessageRow>();
    const ask: string[] = [];
    unique.forEach((id, i) => {
      const row = rows[i];
      if (row === undefined || !isMessageRow(row)) return void ask.push(id); // the server may know it
      if (row.senderId !== userId) answers.set(id, { messageId: id, reason: 'not-sender' });
      else if (!row.needReadReceipt) answers.set(id, { messageId: id, reason: 'receipt-not-requested' });
      else if (row.status !== 'sent') answers.set(id, { messageId: id, reason: 'not-sent' });
      else {
        mine.set(id, row);
        ask.push(id);
      }
    });
    const size = this.deps.limits().maxReceiptQuery;
    try {
      for (let i = 0; i < ask.length; i += size) {
        const res = parsePayload(ReceiptQueryResponseSchema, await transport.queryReceipts({ type: 'receipt-query', messageIds: ask.slice(i, i + size) }), 'receipt-query-result');
        this.deps.onSuccess?.();
        for (const r of res.rejected) answers.set(r.m, { messageId: r.m, reason: skipReason(r.r) });
        const stored = await withStorage('getReadReceipts', () => applyReceipts(db, res.receipts));
        this.deps.onStored?.('receipts', stored);
      }
    } catch (err) {
      const e = asError(err);
      if (!e.retryable) throw e;
      this.deps.onNetworkError(e);
    }
    // The stored state, which is the server's answer merged monotonically with what we had.
    const stored = await withStorage('getReadReceipts', () => readMany(db.receipts, ask));
    ask.forEach((id, i) => {
      if (answers.has(id)) return;
      const r = stored[i];
      const row = mine.get(id);
      // With deliveredCount always (rows stored before deliveries lack it: then readCount).
      if (r !== undefined && isReceiptRow(r)) answers.set(id, { messageId: id, receipt: { ...r, deliveredCount: deliveredOf(r) } });
      else if (row) answers.set(id, { messageId: id, receipt: initialReceipt(row) });
      else answers.set(id, { messageId: id, reason: 'not-found' });
    });
    return ids.map((id) => answers.get(id) as ReadReceiptResult);
  }

  /**
   * One page of the read, unread or delivered-but-unread members of my group
   * message; the last fetched copy when offline. `delivered` needs a server
   * announcing `delivery` (`unsupported-protocol` when the cached config of
   * the server says it does not).
   */
  async members(id: string, options: MemberPageOptions): Promise<ReadMemberPage> {
    const { db, transport, userId } = this.deps;
    const opts = parseArgument(MemberOptionsSchema, options ?? {}, 'getReadMembers options');
    const [row, config] = await withStorage('getReadMembers', () => Promise.all([db.messages.get(id), opts.filter === 'delivered' ? loadConfig(db) : null]));
    if (row !== undefined && isMessageRow(row)) this.checkMemberList(row, userId);
    if (config && !config.features?.includes(FEATURE_DELIVERY)) {
      throw new ReadSyncError('unsupported-protocol', `getReadMembers: the server does not list delivered members until it announces "${FEATURE_DELIVERY}"`);
    }
    const max = this.deps.limits().maxMemberPage;
    const count = Math.min(opts.count ?? max, max);
    const cursor = opts.cursor ?? null;
    // A first page at a given snapshot is another page than the current one's (offline, the cache answers).
    const at = cursor === null ? opts.at : undefined;
    const key = `${id}|${opts.filter}|${cursor ?? ''}${at === undefined ? '' : `|@${at}`}`;
    try {
      const req = { type: 'member-page' as const, messageId: id, filter: opts.filter, cursor, count, ...(at === undefined ? {} : { at }) };
      const res = parsePayload(MemberPageResponseSchema, await transport.memberPage(req), 'member-page-result');
      this.deps.onSuccess?.();
      // Caching is best effort: a full disk must not hide a page we already have.
      await db.memberPages.put({ key, messageId: id, page: res.page, fetchedAt: this.deps.now() }).catch(() => undefined);
      return res.page;
    } catch (err) {
      const e = asError(err);
      if (!e.retryable) throw e;
      this.deps.onNetworkError(e);
      const cached = await db.memberPages.get(key).catch(() => undefined);
      const page = cached ? parsePayload(ReadMemberPageSchema, cached.page, 'cached member page') : null;
      if (page) return page;
      throw e;
    }
  }

  private checkMemberList(row: MessageRow, userId: string): void {
    const id = row.id;
    if (row.senderId !== userId) throw new ReceiptRuleError('not-sender', `getReadMembers: message ${id} is not yours; only its sender may list who read it`);
    if (row.convType !== 'group') throw new ReceiptRuleError('invalid-argument', `getReadMembers: message ${id} is not a group message; use getReadReceipts for c2c`);
    if (!row.needReadReceipt) throw new ReceiptRuleError('receipt-not-requested', `getReadMembers: message ${id} was sent without needReadReceipt`);
    if (row.status !== 'sent') throw new ReceiptRuleError('not-found', `getReadMembers: message ${id} has not reached the server yet`);
  }
}
