import {
  ReadMemberPageSchema,
  ReadSyncError,
  ReceiptQueryResponseSchema,
  ReceiptRuleError,
  MemberPageResponseSchema,
  parseArgument,
  parsePayload,
  type Limits,
  type MessageReceipt,
  type ReadMemberPage,
} from '../src/protocol';
import type { MemberPageOptions } from '../src/bridge';
import type { MessageRow, ReadSyncDb } from './db/ReadSyncDb';
import type { Transport } from './transport/Transport';
import { MemberOptionsSchema } from './apiSchemas';
import { applyReceipts } from './store/applyReceipts';
import { initialReceipt, isMessageRow, isReceiptRow } from './store/readState';
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

/**
 * The sender's pulls: receipt state of my messages and read/unread member
 * pages. Online they come from the server (and update the store, monotonic);
 * when the server cannot be reached (retryable errors) they come from the
 * store, so they work offline. Sender-only rules are checked locally first
 * when the message is known; the server checks them again.
 */
export class ReceiptQueries {
  constructor(private readonly deps: ReceiptQueriesDeps) {}

  /** Receipts of my messages, in the order asked; unknown, unsent or receipt-less messages are left out. */
  async receipts(ids: readonly string[]): Promise<MessageReceipt[]> {
    const { db, transport, userId } = this.deps;
    const unique = [...new Set(ids)];
    const rows = await withStorage('getReadReceipts', () => readMany(db.messages, unique));
    const ask: string[] = [];
    unique.forEach((id, i) => {
      const row = rows[i];
      if (row === undefined || !isMessageRow(row)) return void ask.push(id); // the server may know it
      if (row.senderId !== userId) throw new ReceiptRuleError('not-sender', `getReadReceipts: message ${id} is not yours; only its sender may read its receipts`);
      if (row.status === 'sent' && row.needReadReceipt) ask.push(id);
    });
    const size = this.deps.limits().maxReceiptQuery;
    try {
      for (let i = 0; i < ask.length; i += size) {
        const res = parsePayload(ReceiptQueryResponseSchema, await transport.queryReceipts({ type: 'receipt-query', messageIds: ask.slice(i, i + size) }), 'receipt-query-result');
        const notMine = res.rejected.find((r) => r.r === 'not-sender');
        if (notMine) throw new ReceiptRuleError('not-sender', `getReadReceipts: message ${notMine.m} is not yours; only its sender may read its receipts`);
        this.deps.onSuccess?.();
        this.deps.onStored?.('receipts', await withStorage('getReadReceipts', () => applyReceipts(db, res.receipts)));
      }
    } catch (err) {
      const e = asError(err);
      if (!e.retryable) throw e;
      this.deps.onNetworkError(e);
    }
    const stored = await withStorage('getReadReceipts', () => readMany(db.receipts, unique));
    const out: MessageReceipt[] = [];
    unique.forEach((id, i) => {
      const r = stored[i];
      const row = rows[i];
      if (r !== undefined && isReceiptRow(r)) out.push(r);
      else if (row !== undefined && isMessageRow(row) && row.status === 'sent' && row.needReadReceipt) out.push(initialReceipt(row));
    });
    return out;
  }

  /** One page of the read or unread members of my group message; the last fetched copy when offline. */
  async members(id: string, options: MemberPageOptions): Promise<ReadMemberPage> {
    const { db, transport, userId } = this.deps;
    const opts = parseArgument(MemberOptionsSchema, options ?? {}, 'getReadMembers options');
    const row = await withStorage('getReadMembers', () => db.messages.get(id));
    if (row !== undefined && isMessageRow(row)) this.checkMemberList(row, userId);
    const max = this.deps.limits().maxMemberPage;
    const count = Math.min(opts.count ?? max, max);
    const cursor = opts.cursor ?? null;
    const key = `${id}|${opts.filter}|${cursor ?? ''}`;
    try {
      const res = parsePayload(MemberPageResponseSchema, await transport.memberPage({ type: 'member-page', messageId: id, filter: opts.filter, cursor, count }), 'member-page-result');
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
