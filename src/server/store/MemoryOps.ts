import type { AckBatchResponse } from '../../protocol';
import type { AudienceMember, ConversationRecord, DeliveryRecord, MemberSpan, MessageRecord, MessageRef, ReadPositionRecord, ReadRecord, ReadStateUpdate } from './Store';
import type { SyncOps } from './SynchronousStore';
import { mergeSorted, walkUnread, type UnreadWalkSource } from './unreadWalk';

interface ConvMembers {
  /** userId → spans, oldest first. */
  spans: Map<string, MemberSpan[]>;
  /** userId → ordinal (issue 14: 0, 1, … in first-join order). */
  ordinals: Map<string, number>;
  /** ordinal → userId. */
  byOrdinal: string[];
  /** ordinal → the position of that member's first join (non-decreasing). */
  firstSeq: number[];
}

/** Index of the first element of sorted `arr` greater than `key`. */
function upperBound(arr: readonly string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((arr[mid] as string) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const copy = <T extends object>(x: T): T => ({ ...x });

/**
 * The operations of `MemoryStore`. Transactions keep an undo log, so a batch
 * that throws half-way leaves nothing behind, exactly like SQLite.
 */
export class MemoryOps implements SyncOps {
  private conversations = new Map<string, ConversationRecord>();
  private members = new Map<string, ConvMembers>();
  private userConvs = new Map<string, Set<string>>();
  private messages = new Map<string, MessageRecord>();
  private convMessages = new Map<string, MessageRecord[]>();
  private reads = new Map<string, Map<string, ReadRecord>>();
  private readOrder = new Map<string, ReadRecord[]>();
  /** messageId → userId → delivery (issue 10.5). */
  private deliveries = new Map<string, Map<string, DeliveryRecord>>();
  /** messageId → its delivered userIds, sorted; dropped on insert, rebuilt when walked. */
  private deliveredSorted = new Map<string, string[]>();
  /** messageId → reader bitmap by ordinal, 32 bits a word (-1: all read), set with each public read (issue 14). */
  private readBits = new Map<string, number[]>();
  /** userId → that user's reads in ack order (ackSeqs are handed out increasing, so appends keep it sorted). */
  private userReads = new Map<string, ReadRecord[]>();
  /** `${convId}\u0000${userId}` → read position. */
  private positions = new Map<string, ReadPositionRecord>();
  private batches = new Map<string, { result: AckBatchResponse; at: number }>();
  private receiptModes = new Map<string, 'public' | 'private'>();
  private ackSeq = 0;
  private undo: (() => void)[] | null = null;

  begin(): void {
    this.undo = [];
  }

  commit(): void {
    this.undo = null;
  }

  rollback(): void {
    const log = this.undo ?? [];
    this.undo = null;
    for (let i = log.length - 1; i >= 0; i--) (log[i] as () => void)();
  }

  private onUndo(f: () => void): void {
    this.undo?.push(f);
  }

  getConversation(id: string): ConversationRecord | undefined {
    const c = this.conversations.get(id);
    return c && copy(c);
  }

  insertConversation(rec: ConversationRecord): void {
    if (this.conversations.has(rec.id)) throw new Error(`conversation ${rec.id} exists`);
    this.conversations.set(rec.id, copy(rec));
    this.members.set(rec.id, { spans: new Map(), ordinals: new Map(), byOrdinal: [], firstSeq: [] });
    this.onUndo(() => {
      this.conversations.delete(rec.id);
      this.members.delete(rec.id);
    });
  }

  updateConversation(id: string, fields: { seq: number; memberCount: number }): void {
    const c = this.conversations.get(id);
    if (!c) throw new Error(`no conversation ${id}`);
    const before = copy(c);
    Object.assign(c, fields);
    this.onUndo(() => Object.assign(c, before));
  }

  currentSpan(convId: string, userId: string): MemberSpan | undefined {
    const spans = this.members.get(convId)?.spans.get(userId);
    const last = spans?.[spans.length - 1];
    return last && last.leftSeq === null ? copy(last) : undefined;
  }

  spansOf(convId: string, userId: string): MemberSpan[] {
    return (this.members.get(convId)?.spans.get(userId) ?? []).map(copy);
  }

  spanAt(convId: string, userId: string, seq: number): MemberSpan | undefined {
    const spans = this.members.get(convId)?.spans.get(userId) ?? [];
    const s = spans.find((x) => x.joinedSeq < seq && (x.leftSeq === null || seq < x.leftSeq));
    return s && copy(s);
  }

  openSpans(convId: string, userIds: readonly string[], joinedSeq: number): void {
    const m = this.members.get(convId);
    if (!m) throw new Error(`no conversation ${convId}`);
    const fresh: string[] = [];
    for (const userId of userIds) {
      let spans = m.spans.get(userId);
      if (!spans) {
        spans = [];
        m.spans.set(userId, spans);
        fresh.push(userId);
      }
      spans.push({ convId, userId, joinedSeq, leftSeq: null });
      let convs = this.userConvs.get(userId);
      if (!convs) this.userConvs.set(userId, (convs = new Set()));
      convs.add(convId);
    }
    for (const u of fresh) {
      m.ordinals.set(u, m.byOrdinal.length);
      m.byOrdinal.push(u);
      m.firstSeq.push(joinedSeq);
    }
    this.onUndo(() => {
      for (const userId of userIds) {
        m.spans.get(userId)?.pop();
        this.userConvs.get(userId)?.delete(convId);
      }
      for (const u of fresh) {
        m.spans.delete(u);
        m.ordinals.delete(u);
      }
      m.byOrdinal.length -= fresh.length;
      m.firstSeq.length -= fresh.length;
    });
  }

  closeSpan(convId: string, userId: string, leftSeq: number): void {
    const spans = this.members.get(convId)?.spans.get(userId);
    const last = spans?.[spans.length - 1];
    if (!last || last.leftSeq !== null) throw new Error(`${userId} is not a member of ${convId}`);
    last.leftSeq = leftSeq;
    this.userConvs.get(userId)?.delete(convId);
    this.onUndo(() => {
      last.leftSeq = null;
      this.userConvs.get(userId)?.add(convId);
    });
  }

  conversationsOf(userId: string): string[] {
    return [...(this.userConvs.get(userId) ?? [])].sort();
  }

  membersAmong(convId: string, userIds: readonly string[], leftAt?: number): string[] {
    const spans = this.members.get(convId)?.spans;
    if (!spans) return [];
    return [...new Set(userIds)].filter((u) => (spans.get(u) ?? []).some((s) => s.leftSeq === null || s.leftSeq === leftAt));
  }

  unreadAudience(message: Pick<MessageRecord, 'id' | 'convId' | 'seq' | 'senderId'>, afterOrdinal: number | null, limit: number, asOf?: number): AudienceMember[] {
    const m = this.members.get(message.convId);
    if (!m) return [];
    const words = this.readBits.get(message.id);
    const boundOf = (): number => {
      // The last ordinal whose first join came before the message (firstSeq is non-decreasing).
      let lo = 0;
      let hi = m.firstSeq.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((m.firstSeq[mid] as number) < message.seq) lo = mid + 1;
        else hi = mid;
      }
      return lo - 1;
    };
    const src: UnreadWalkSource = {
      zeros: (from, known, want) => {
        const bound = known ?? boundOf();
        const ordinals: number[] = [];
        for (let o = from; o <= bound; ) {
          const w = words?.[o >>> 5] ?? 0;
          if (w === -1 && (o & 31) === 0) {
            o += 32; // a word of readers
            continue;
          }
          if (((w >>> (o & 31)) & 1) === 0) {
            ordinals.push(o);
            if (ordinals.length >= want) return { ordinals, scannedTo: o, bound };
          }
          o++;
        }
        return { ordinals, scannedTo: Math.max(bound, from - 1), bound };
      },
      members: (ordinals, late) => {
        let candidates = ordinals;
        if (late) {
          const order = this.readOrder.get(message.id) ?? [];
          const lateOnes: number[] = [];
          for (let i = firstAfter(order, asOf ?? Number.MAX_SAFE_INTEGER); i < order.length; i++) {
            const r = order[i] as ReadRecord;
            const o = m.ordinals.get(r.userId);
            if (!r.private && o !== undefined && o > late.after && o <= late.upTo) lateOnes.push(o);
          }
          if (lateOnes.length > 0) candidates = mergeSorted(ordinals, lateOnes.sort((a, b) => a - b));
        }
        const out: AudienceMember[] = [];
        for (const ordinal of candidates) {
          const userId = m.byOrdinal[ordinal];
          if (userId !== undefined && userId !== message.senderId && this.spanAt(message.convId, userId, message.seq)) out.push({ userId, ordinal });
        }
        return out;
      },
    };
    return walkUnread(src, afterOrdinal, limit, asOf !== undefined);
  }

  /** Sets (or, on undo, clears) the reader's bit in the message's reader bitmap. */
  private setReadBit(rec: ReadRecord): void {
    const msg = this.messages.get(rec.messageId);
    const ordinal = msg && this.members.get(msg.convId)?.ordinals.get(rec.userId);
    if (ordinal === undefined) return;
    let words = this.readBits.get(rec.messageId);
    if (!words) this.readBits.set(rec.messageId, (words = []));
    const w = words;
    const i = ordinal >>> 5;
    const bit = 1 << (ordinal & 31);
    while (w.length <= i) w.push(0);
    w[i] = (w[i] as number) | bit;
    this.onUndo(() => {
      w[i] = (w[i] as number) & ~bit;
    });
  }

  deliveredUnread(messageId: string, afterUserId: string | null, limit: number, asOf?: number): string[] {
    const byUser = this.deliveries.get(messageId);
    if (!byUser) return [];
    let sorted = this.deliveredSorted.get(messageId);
    if (!sorted) this.deliveredSorted.set(messageId, (sorted = [...byUser.keys()].sort()));
    const readers = this.reads.get(messageId);
    const out: string[] = [];
    for (let i = afterUserId === null ? 0 : upperBound(sorted, afterUserId); i < sorted.length && out.length < limit; i++) {
      const userId = sorted[i] as string;
      if (asOf !== undefined && (byUser.get(userId) as DeliveryRecord).ackSeq > asOf) continue;
      const read = readers?.get(userId);
      if (read && !read.private && (asOf === undefined || read.ackSeq <= asOf)) continue;
      out.push(userId);
    }
    return out;
  }

  getMessage(id: string): MessageRecord | undefined {
    const msg = this.messages.get(id);
    return msg && copy(msg);
  }

  getMessages(ids: readonly string[]): MessageRecord[] {
    const out: MessageRecord[] = [];
    for (const id of new Set(ids)) {
      const m = this.messages.get(id);
      if (m) out.push(copy(m));
    }
    return out;
  }

  insertMessage(rec: MessageRecord): void {
    if (this.messages.has(rec.id)) throw new Error(`message ${rec.id} exists`);
    const stored = copy(rec);
    this.messages.set(rec.id, stored);
    let list = this.convMessages.get(rec.convId);
    if (!list) this.convMessages.set(rec.convId, (list = []));
    list.push(stored);
    this.onUndo(() => {
      this.messages.delete(rec.id);
      const l = this.convMessages.get(rec.convId);
      if (l?.[l.length - 1] === stored) l.pop();
    });
  }

  messagesBefore(convId: string, beforeSeq: number, limit: number): MessageRecord[] {
    const list = this.convMessages.get(convId) ?? [];
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((list[mid] as MessageRecord).seq < beforeSeq) lo = mid + 1;
      else hi = mid;
    }
    return list.slice(Math.max(0, lo - limit), lo).map(copy);
  }

  receiptMessagesInRange(convId: string, afterSeq: number, upToSeq: number, notSender: string, limit: number): MessageRef[] {
    const list = this.convMessages.get(convId) ?? [];
    const out: MessageRef[] = [];
    for (let i = this.firstAfterSeq(list, afterSeq); i < list.length && out.length < limit; i++) {
      const m = list[i] as MessageRecord;
      if (m.seq > upToSeq) break;
      if (m.needReadReceipt && m.senderId !== notSender) out.push({ id: m.id, senderId: m.senderId, seq: m.seq });
    }
    return out;
  }

  private firstAfterSeq(list: readonly MessageRecord[], afterSeq: number): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((list[mid] as MessageRecord).seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  messagesAfter(convId: string, afterSeq: number, limit: number): MessageRecord[] {
    const list = this.convMessages.get(convId) ?? [];
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((list[mid] as MessageRecord).seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return list.slice(lo, lo + limit).map(copy);
  }

  updateReadStates(updates: readonly ReadStateUpdate[]): void {
    for (const u of updates) {
      const msg = this.messages.get(u.messageId);
      if (!msg) throw new Error(`no message ${u.messageId}`);
      const before = { readCount: msg.readCount, deliveredCount: msg.deliveredCount, lastReadAt: msg.lastReadAt, lastAckSeq: msg.lastAckSeq };
      Object.assign(msg, {
        readCount: msg.readCount + u.added,
        deliveredCount: msg.deliveredCount + u.delivered,
        lastReadAt: Math.max(msg.lastReadAt, u.lastReadAt),
        lastAckSeq: Math.max(msg.lastAckSeq, u.lastAckSeq),
      });
      this.onUndo(() => Object.assign(msg, before));
    }
  }

  receiptChangesOf(senderId: string, afterAckSeq: number, limit: number): MessageRecord[] {
    const out: MessageRecord[] = [];
    for (const msg of this.messages.values()) if (msg.senderId === senderId && msg.lastAckSeq > afterAckSeq) out.push(msg);
    return out
      .sort((a, b) => a.lastAckSeq - b.lastAckSeq)
      .slice(0, limit)
      .map(copy);
  }

  /** Messages whose receipt state changed after `afterAckSeq`, ascending (the receipt stream; a scan: tests only). */
  receiptStatesAfter(afterAckSeq: number, limit: number): MessageRecord[] {
    const out: MessageRecord[] = [];
    for (const msg of this.messages.values()) if (msg.lastAckSeq > afterAckSeq) out.push(msg);
    return out
      .sort((a, b) => a.lastAckSeq - b.lastAckSeq)
      .slice(0, limit)
      .map(copy);
  }

  getRead(messageId: string, userId: string): ReadRecord | undefined {
    const r = this.reads.get(messageId)?.get(userId);
    return r && copy(r);
  }

  insertReads(recs: readonly ReadRecord[]): string[] {
    const inserted: string[] = [];
    for (const rec of recs) {
      let byUser = this.reads.get(rec.messageId);
      if (!byUser) this.reads.set(rec.messageId, (byUser = new Map()));
      if (byUser.has(rec.userId)) continue;
      const stored = copy(rec);
      if (!stored.private) delete stored.private;
      byUser.set(rec.userId, stored);
      let order = this.readOrder.get(rec.messageId);
      if (!order) this.readOrder.set(rec.messageId, (order = []));
      order.push(stored);
      let mine = this.userReads.get(rec.userId);
      if (!mine) this.userReads.set(rec.userId, (mine = []));
      insertByAckSeq(mine, stored);
      inserted.push(rec.messageId);
      if (!stored.private) this.setReadBit(stored);
      this.onUndo(() => {
        this.reads.get(rec.messageId)?.delete(rec.userId);
        const o = this.readOrder.get(rec.messageId);
        if (o?.[o.length - 1] === stored) o.pop();
        const u = this.userReads.get(rec.userId);
        const at = u ? u.indexOf(stored) : -1;
        if (u && at >= 0) u.splice(at, 1);
      });
    }
    return inserted;
  }

  insertDeliveries(recs: readonly DeliveryRecord[]): string[] {
    const inserted: string[] = [];
    for (const rec of recs) {
      let byUser = this.deliveries.get(rec.messageId);
      if (!byUser) this.deliveries.set(rec.messageId, (byUser = new Map()));
      if (byUser.has(rec.userId)) continue;
      byUser.set(rec.userId, copy(rec));
      this.deliveredSorted.delete(rec.messageId);
      inserted.push(rec.messageId);
      this.onUndo(() => {
        this.deliveries.get(rec.messageId)?.delete(rec.userId);
        this.deliveredSorted.delete(rec.messageId);
      });
    }
    return inserted;
  }

  readsAfter(messageId: string, afterAckSeq: number, limit: number): ReadRecord[] {
    const order = this.readOrder.get(messageId) ?? [];
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((order[mid] as ReadRecord).ackSeq <= afterAckSeq) lo = mid + 1;
      else hi = mid;
    }
    const out: ReadRecord[] = [];
    for (let i = lo; i < order.length && out.length < limit; i++) if (!(order[i] as ReadRecord).private) out.push(copy(order[i] as ReadRecord));
    return out;
  }

  readsByUserAfter(userId: string, afterAckSeq: number, limit: number): ReadRecord[] {
    const mine = this.userReads.get(userId) ?? [];
    const from = firstAfter(mine, afterAckSeq);
    return mine.slice(from, from + limit).map(copy);
  }

  readsOf(userId: string, messageIds: readonly string[]): ReadRecord[] {
    const out: ReadRecord[] = [];
    for (const id of new Set(messageIds)) {
      const r = this.reads.get(id)?.get(userId);
      if (r) out.push(copy(r));
    }
    return out;
  }

  getReceiptMode(userId: string): 'public' | 'private' {
    return this.receiptModes.get(userId) ?? 'public';
  }

  putReceiptMode(userId: string, mode: 'public' | 'private'): void {
    const before = this.receiptModes.get(userId);
    this.receiptModes.set(userId, mode);
    this.onUndo(() => (before ? this.receiptModes.set(userId, before) : this.receiptModes.delete(userId)));
  }

  getReadPosition(convId: string, userId: string): ReadPositionRecord | undefined {
    const p = this.positions.get(`${convId}\u0000${userId}`);
    return p && copy(p);
  }

  putReadPosition(rec: ReadPositionRecord): void {
    const key = `${rec.convId}\u0000${rec.userId}`;
    const before = this.positions.get(key);
    this.positions.set(key, copy(rec));
    this.onUndo(() => (before ? this.positions.set(key, before) : this.positions.delete(key)));
  }

  readPositionsOf(userId: string, convIds: readonly string[]): ReadPositionRecord[] {
    const out: ReadPositionRecord[] = [];
    for (const convId of new Set(convIds)) {
      const p = this.positions.get(`${convId}\u0000${userId}`);
      if (p) out.push(copy(p));
    }
    return out;
  }

  lastAckSeq(): number {
    return this.ackSeq;
  }

  reserveAckSeqs(count: number): number {
    const before = this.ackSeq;
    this.onUndo(() => (this.ackSeq = before));
    this.ackSeq += count;
    return before + 1;
  }

  getBatchResult(userId: string, batchId: string): AckBatchResponse | undefined {
    const b = this.batches.get(`${userId}\u0000${batchId}`);
    return b && structuredClone(b.result);
  }

  putBatchResult(userId: string, batchId: string, result: AckBatchResponse, at: number): void {
    const key = `${userId}\u0000${batchId}`;
    const before = this.batches.get(key);
    this.batches.set(key, { result: structuredClone(result), at });
    this.onUndo(() => (before ? this.batches.set(key, before) : this.batches.delete(key)));
  }

  pruneBatchResults(before: number): void {
    for (const [key, b] of this.batches) if (b.at < before) this.batches.delete(key);
  }

  close(): void {
    // nothing to release
  }
}

/** Index of the first read in `reads` (sorted by ackSeq) with ackSeq > `after`. */
function firstAfter(reads: readonly ReadRecord[], after: number): number {
  let lo = 0;
  let hi = reads.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((reads[mid] as ReadRecord).ackSeq <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Inserts `rec` into `reads`, kept sorted by ackSeq (an append in the usual case). */
function insertByAckSeq(reads: ReadRecord[], rec: ReadRecord): void {
  const last = reads[reads.length - 1];
  if (!last || last.ackSeq <= rec.ackSeq) reads.push(rec);
  else reads.splice(firstAfter(reads, rec.ackSeq), 0, rec);
}
