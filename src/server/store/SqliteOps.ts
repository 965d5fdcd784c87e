import Database from 'better-sqlite3';
import type { AckBatchResponse } from '../../protocol';
import { RowidCache } from './RowidCache';
import type { AudienceMember, ConversationRecord, DeliveryRecord, MemberSpan, MessageRecord, MessageRef, ReadPositionRecord, ReadRecord, ReadStateUpdate } from './Store';
import type { SyncOps } from './SynchronousStore';
import { READ_BITS_SET, SQLITE_BACKFILLS, SQLITE_SCHEMA, SQLITE_SCHEMA_VERSION, SQLITE_UPGRADES } from './sqliteSchema';
import { mergeSorted, walkUnread, type UnreadWalkSource, type Zeros } from './unreadWalk';
import { decodeBatchResult, encodeBatchResult, toConv, toMsg, toPosition, toRead, toSpan } from './sqliteRows';
import type { ConvRow, MsgRow, PositionRow, ReadRow, SpanRow } from './sqliteRows';

/** Rows per multi-row statement (4 parameters each, far below SQLite's parameter limit). */
const MULTI_ROW = 100;
const rows = (n: number, width: number): string => Array.from({ length: n }, () => `(${Array(width).fill('?').join(', ')})`).join(', ');

/** Options of `SqliteStore`. */
export interface SqliteStoreOptions {
  /** A file path, or ':memory:' (default). */
  filename?: string;
  /**
   * `PRAGMA synchronous` in WAL mode. `'full'` (default): every commit is
   * fsynced before it returns, so an ack batch answered 200 survives a power
   * loss or OS crash. `'normal'`: commits are fsynced only at WAL checkpoints;
   * still safe against a crash of this process, but the last commits before a
   * power loss can vanish although their clients were told they were stored
   * (and have dropped them from their outboxes). Opt in only where that loss
   * is acceptable; docs/benchmarks.md shows what each costs in ingest.
   */
  synchronous?: 'full' | 'normal';
}

/**
 * The operations of `SqliteStore`: SQLite through better-sqlite3
 * (synchronous), WAL journal with `synchronous=FULL` unless told otherwise,
 * prepared statements. Indexes make every operation a point lookup or a range
 * read: counts live on the message row (O(1) per ack), read members are a
 * range of (message_id, ack_seq), unread members the zero bits of the
 * message's reader bitmap (`read_bits`, `unreadWalk`) checked against the
 * spans, so pages cost O(page) even in a 100,000-member group.
 */
export class SqliteOps implements SyncOps {
  readonly db: Database.Database;
  private readonly q;
  /** Multi-row statements (one execution per chunk of up to MULTI_ROW rows), prepared once per row count. */
  private readonly inserts: Database.Statement[] = [];
  private readonly deliveryInserts: Database.Statement[] = [];
  private readonly bitsInserts: Database.Statement[] = [];
  private readonly updates = new Map<string, Database.Statement>();
  private readonly rowids = new RowidCache();
  /** PRAGMA data_version at the start of the last transaction: it moves when another connection commits. */
  private dataVersion = 0;
  /** Inside a transaction of ours, whose start checked `dataVersion`. */
  private checked = false;
  /** `ackSeq` when the open transaction began. */
  private ackSeqAtBegin = 0;
  /**
   * Global ack sequence, kept in memory; written to `meta` when a transaction
   * that used it commits (numbers handed out to duplicates leave gaps that must
   * not be reused after a restart), restored if it rolls back.
   */
  private ackSeq: number;

  constructor(options: SqliteStoreOptions = {}) {
    this.db = new Database(options.filename ?? ':memory:');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('foreign_keys = OFF');
    // Statement journals (a multi-row UPDATE of message counters inside a transaction) and temp
    // b-trees stay in memory: on disk, each one over 64 KiB created, wrote and unlinked a file in
    // /var/tmp, ~30 times a second under load, all on the event loop. They are bounded by one
    // statement's pages (our statements touch at most a batch's rows).
    this.db.pragma('temp_store = MEMORY');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    this.db.exec(SQLITE_SCHEMA);
    for (const u of SQLITE_UPGRADES) {
      const columns = this.db.prepare(`PRAGMA table_info(${u.table})`).all() as { name: string }[];
      if (!columns.some((c) => c.name === u.column)) {
        this.db.transaction(() => {
          this.db.exec(u.sql);
          if (u.backfill) this.db.exec(u.backfill);
        })();
      }
    }
    const backfills = SQLITE_BACKFILLS.filter((b) => version < b.version);
    this.db.transaction(() => {
      for (const b of backfills) this.db.exec(b.sql);
      this.db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
    })();
    const p = (sql: string) => this.db.prepare(sql);
    this.q = {
      getConv: p('SELECT * FROM conversations WHERE id = ?'),
      insConv: p(
        'INSERT INTO conversations (id, type, group_type, name, user_a, user_b, seq, member_count, created_at) VALUES (@id, @type, @group_type, @name, @user_a, @user_b, @seq, @member_count, @created_at)',
      ),
      updConv: p('UPDATE conversations SET seq = ?, member_count = ? WHERE id = ?'),
      currentSpan: p('SELECT * FROM spans WHERE conv_id = ? AND user_id = ? AND left_seq IS NULL'),
      spansOf: p('SELECT * FROM spans WHERE conv_id = ? AND user_id = ? ORDER BY joined_seq'),
      spanAt: p('SELECT * FROM spans WHERE conv_id = ? AND user_id = ? AND joined_seq < ? AND (left_seq IS NULL OR left_seq > ?) LIMIT 1'),
      openSpan: p('INSERT INTO spans (conv_id, user_id, joined_seq, left_seq) VALUES (?, ?, ?, NULL)'),
      closeSpan: p('UPDATE spans SET left_seq = ? WHERE conv_id = ? AND user_id = ? AND left_seq IS NULL'),
      convsOf: p('SELECT conv_id FROM spans WHERE user_id = ? AND left_seq IS NULL ORDER BY conv_id').pluck(),
      membersAmong: p('SELECT DISTINCT user_id FROM spans WHERE conv_id = ? AND user_id IN (SELECT value FROM json_each(?)) AND (left_seq IS NULL OR left_seq = ?)').pluck(),
      deliveredUnread: p(`SELECT d.user_id FROM deliveries d
        WHERE d.message_id = @msg AND d.user_id > @after AND d.ack_seq <= @asOf
          AND NOT EXISTS (SELECT 1 FROM reads r WHERE r.message_id = @msg AND r.user_id = d.user_id AND r.ack_seq <= @asOf AND r.private = 0)
        ORDER BY d.user_id LIMIT @limit`).pluck(),
      nextOrdinal: p('SELECT COALESCE(MAX(ordinal), -1) + 1 FROM member_ordinals WHERE conv_id = ?').pluck(),
      insOrdinal: p('INSERT OR IGNORE INTO member_ordinals (conv_id, ordinal, user_id, first_seq) VALUES (?, ?, ?, ?)'),
      ordinalBound: p('SELECT ordinal FROM member_ordinals WHERE conv_id = ? AND first_seq < ? ORDER BY first_seq DESC, ordinal DESC LIMIT 1').pluck(),
      // The walk's reads of a bitmap: the rows that are not full (full ones are stepped over inside
      // SQLite), how many rows a stretch has (so missing rows, all zeros, are found by counting), the
      // last one, and the row numbers when a stretch has some of both.
      openChunks: p('SELECT chunk, bits FROM read_bits WHERE message_id = ? AND chunk >= ? AND chunk <= ? AND bits <> -1 ORDER BY chunk LIMIT ?').raw().safeIntegers(),
      countChunks: p('SELECT count(*) FROM read_bits WHERE message_id = ? AND chunk >= ? AND chunk <= ?').pluck(),
      lastChunk: p('SELECT max(chunk) FROM read_bits WHERE message_id = ? AND chunk >= ? AND chunk <= ?').pluck(),
      chunkList: p('SELECT chunk FROM read_bits WHERE message_id = ? AND chunk >= ? AND chunk <= ? ORDER BY chunk LIMIT ?').pluck(),
      // CROSS JOIN keeps the order of the loops as written (SQLite's rule): the reads after the
      // snapshot (an index range, usually short), then each one's ordinal; and the candidates, then
      // each one's member row. The planner would otherwise walk the conversation's members.
      lateReaders: p(`SELECT o.ordinal FROM reads r CROSS JOIN member_ordinals o ON o.conv_id = @conv AND o.user_id = r.user_id
        WHERE r.message_id = @msg AND r.ack_seq > @asOf AND r.private = 0 AND o.ordinal > @after AND o.ordinal <= @bound`).pluck(),
      verify: p(`SELECT o.ordinal, o.user_id FROM json_each(@ords) j CROSS JOIN member_ordinals o ON o.conv_id = @conv AND o.ordinal = j.value
        WHERE o.user_id <> @sender AND EXISTS (SELECT 1 FROM spans s WHERE s.conv_id = @conv AND s.user_id = o.user_id
          AND s.joined_seq < @seq AND (s.left_seq IS NULL OR s.left_seq > @seq))
        ORDER BY o.ordinal`).raw(),
      deliverySeq: p('SELECT ack_seq FROM deliveries WHERE message_id = ? AND user_id = ?').pluck(),
      getMsg: p('SELECT rowid AS rid, * FROM messages WHERE id = ?'),
      getMsgs: p('SELECT rowid AS rid, * FROM messages WHERE id IN (SELECT value FROM json_each(?))'),
      insMsg: p(`INSERT INTO messages (id, conv_id, conv_type, sender_id, text, need_receipt, seq, sent_at, audience_count, read_count, last_read_at, last_ack_seq, delivered_count)
        VALUES (@id, @conv_id, @conv_type, @sender_id, @text, @need_receipt, @seq, @sent_at, @audience_count, @read_count, @last_read_at, @last_ack_seq, @delivered_count)`),
      msgsAfter: p('SELECT * FROM messages WHERE conv_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      receiptRange: p('SELECT rowid AS rid, id, sender_id, seq FROM messages WHERE conv_id = ? AND seq > ? AND seq <= ? AND need_receipt = 1 AND sender_id <> ? ORDER BY seq LIMIT ?'),
      msgsBefore: p('SELECT * FROM messages WHERE conv_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
      changes: p('SELECT * FROM messages WHERE sender_id = ? AND last_ack_seq > ? ORDER BY last_ack_seq LIMIT ?'),
      getRead: p('SELECT * FROM reads WHERE message_id = ? AND user_id = ?'),
      readSeq: p('SELECT ack_seq FROM reads WHERE message_id = ? AND user_id = ?').pluck(),
      readsAfter: p('SELECT * FROM reads WHERE message_id = ? AND ack_seq > ? AND private = 0 ORDER BY ack_seq LIMIT ?'),
      insPrivateRead: p('INSERT OR IGNORE INTO reads (message_id, user_id, read_at, ack_seq, private) VALUES (?, ?, ?, ?, 1)'),
      getMode: p('SELECT receipts FROM user_settings WHERE user_id = ?').pluck(),
      putMode: p('INSERT OR REPLACE INTO user_settings (user_id, receipts) VALUES (?, ?)'),
      readsByUser: p('SELECT * FROM reads WHERE user_id = ? AND ack_seq > ? ORDER BY ack_seq LIMIT ?'),
      readsOf: p('SELECT * FROM reads WHERE user_id = ? AND message_id IN (SELECT value FROM json_each(?))'),
      getPos: p('SELECT * FROM read_positions WHERE user_id = ? AND conv_id = ?'),
      putPos: p('INSERT OR REPLACE INTO read_positions (user_id, conv_id, seq, read_at) VALUES (?, ?, ?, ?)'),
      posOf: p('SELECT * FROM read_positions WHERE user_id = ? AND conv_id IN (SELECT value FROM json_each(?))'),
      maxAck: p("SELECT MAX(COALESCE((SELECT MAX(ack_seq) FROM reads), 0), COALESCE((SELECT value FROM meta WHERE key = 'ack_seq'), 0))").pluck(),
      setAck: p("INSERT INTO meta (key, value) VALUES ('ack_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
      getBatch: p('SELECT result FROM batches WHERE user_id = ? AND batch_id = ?').pluck(),
      putBatch: p('INSERT OR REPLACE INTO batches (user_id, batch_id, result, at) VALUES (?, ?, ?, ?)'),
      pruneBatches: p('DELETE FROM batches WHERE at < ?'),
      dataVersion: p('PRAGMA data_version').pluck(),
      begin: p('BEGIN IMMEDIATE'),
      commit: p('COMMIT'),
      rollback: p('ROLLBACK'),
    };
    this.ackSeq = this.q.maxAck.get() as number;
  }

  begin(): void {
    this.q.begin.run();
    // Under the write lock: nobody else can commit until we are done.
    const version = this.q.dataVersion.get() as number;
    if (version !== this.dataVersion) {
      this.dataVersion = version;
      this.rowids.clear();
    }
    this.checked = true;
    this.ackSeqAtBegin = this.ackSeq;
  }

  commit(): void {
    if (this.ackSeq !== this.ackSeqAtBegin) this.q.setAck.run(this.ackSeq);
    this.q.commit.run();
    this.checked = false;
  }

  rollback(): void {
    if (this.db.inTransaction) this.q.rollback.run();
    this.ackSeq = this.ackSeqAtBegin;
    this.checked = false;
    this.rowids.clear(); // rows inserted by the rolled-back transaction are gone
  }

  getConversation(id: string): ConversationRecord | undefined {
    const r = this.q.getConv.get(id) as ConvRow | undefined;
    return r && toConv(r);
  }

  insertConversation(rec: ConversationRecord): void {
    this.q.insConv.run({
      id: rec.id,
      type: rec.type,
      group_type: rec.groupType,
      name: rec.name,
      user_a: rec.c2cUsers?.[0] ?? null,
      user_b: rec.c2cUsers?.[1] ?? null,
      seq: rec.seq,
      member_count: rec.memberCount,
      created_at: rec.createdAt,
    });
  }

  updateConversation(id: string, fields: { seq: number; memberCount: number }): void {
    this.q.updConv.run(fields.seq, fields.memberCount, id);
  }

  currentSpan(convId: string, userId: string): MemberSpan | undefined {
    const r = this.q.currentSpan.get(convId, userId) as SpanRow | undefined;
    return r && toSpan(r);
  }

  spansOf(convId: string, userId: string): MemberSpan[] {
    return (this.q.spansOf.all(convId, userId) as SpanRow[]).map(toSpan);
  }

  spanAt(convId: string, userId: string, seq: number): MemberSpan | undefined {
    const r = this.q.spanAt.get(convId, userId, seq, seq) as SpanRow | undefined;
    return r && toSpan(r);
  }

  openSpans(convId: string, userIds: readonly string[], joinedSeq: number): void {
    const open = () => {
      let next = this.q.nextOrdinal.get(convId) as number;
      for (const u of userIds) {
        this.q.openSpan.run(convId, u, joinedSeq);
        // A returning member keeps the ordinal of their first join (the insert is ignored).
        if (this.q.insOrdinal.run(convId, next, u, joinedSeq).changes === 1) next++;
      }
    };
    if (this.db.inTransaction) open();
    else this.db.transaction(open)();
  }

  closeSpan(convId: string, userId: string, leftSeq: number): void {
    if (this.q.closeSpan.run(leftSeq, convId, userId).changes !== 1) throw new Error(`${userId} is not a member of ${convId}`);
  }

  conversationsOf(userId: string): string[] {
    return this.q.convsOf.all(userId) as string[];
  }

  membersAmong(convId: string, userIds: readonly string[], leftAt?: number): string[] {
    if (userIds.length === 0) return [];
    return this.q.membersAmong.all(convId, JSON.stringify(userIds), leftAt ?? -1) as string[];
  }

  unreadAudience(message: Pick<MessageRecord, 'id' | 'convId' | 'seq' | 'senderId'>, afterOrdinal: number | null, limit: number, asOf?: number): AudienceMember[] {
    const q = this.q;
    const src: UnreadWalkSource = {
      zeros: (from, known, want) => sqliteZeros(q, message.id, from, known ?? (q.ordinalBound.get(message.convId, message.seq) as number | undefined) ?? -1, want),
      members: (ordinals, late) => {
        const lateOnes = late ? (q.lateReaders.all({ conv: message.convId, msg: message.id, asOf: asOf ?? Number.MAX_SAFE_INTEGER, after: late.after, bound: late.upTo }) as number[]) : [];
        const candidates = lateOnes.length > 0 ? mergeSorted(ordinals, lateOnes.sort((a, b) => a - b)) : ordinals;
        if (candidates.length === 0) return [];
        return (q.verify.all({ ords: JSON.stringify(candidates), conv: message.convId, sender: message.senderId, seq: message.seq }) as [number, string][]).map(([ordinal, userId]) => ({
          ordinal,
          userId,
        }));
      },
    };
    return walkUnread(src, afterOrdinal, limit, asOf !== undefined);
  }

  deliveredUnread(messageId: string, afterUserId: string | null, limit: number, asOf?: number): string[] {
    return this.q.deliveredUnread.all({ msg: messageId, after: afterUserId ?? '', limit, asOf: asOf ?? Number.MAX_SAFE_INTEGER }) as string[];
  }

  getMessage(id: string): MessageRecord | undefined {
    const r = this.q.getMsg.get(id) as (MsgRow & { rid: number }) | undefined;
    if (!r) return undefined;
    this.rowids.set(r.id, r.rid);
    return toMsg(r);
  }

  getMessages(ids: readonly string[]): MessageRecord[] {
    if (ids.length === 0) return [];
    return (this.q.getMsgs.all(JSON.stringify(ids)) as (MsgRow & { rid: number })[]).map((r) => {
      this.rowids.set(r.id, r.rid);
      return toMsg(r);
    });
  }

  insertMessage(rec: MessageRecord): void {
    const { lastInsertRowid } = this.q.insMsg.run({
      id: rec.id,
      conv_id: rec.convId,
      conv_type: rec.convType,
      sender_id: rec.senderId,
      text: rec.text,
      need_receipt: rec.needReadReceipt ? 1 : 0,
      seq: rec.seq,
      sent_at: rec.sentAt,
      audience_count: rec.audienceCount,
      read_count: rec.readCount,
      last_read_at: rec.lastReadAt,
      last_ack_seq: rec.lastAckSeq,
      delivered_count: rec.deliveredCount,
    });
    this.rowids.set(rec.id, Number(lastInsertRowid));
  }

  receiptMessagesInRange(convId: string, afterSeq: number, upToSeq: number, notSender: string, limit: number): MessageRef[] {
    const rows = this.q.receiptRange.all(convId, afterSeq, upToSeq, notSender, limit) as { rid: number; id: string; sender_id: string; seq: number }[];
    return rows.map((r) => {
      this.rowids.set(r.id, r.rid); // the counter update that follows finds the row by rowid
      return { id: r.id, senderId: r.sender_id, seq: r.seq };
    });
  }

  messagesAfter(convId: string, afterSeq: number, limit: number): MessageRecord[] {
    return (this.q.msgsAfter.all(convId, afterSeq, limit) as MsgRow[]).map(toMsg);
  }

  messagesBefore(convId: string, beforeSeq: number, limit: number): MessageRecord[] {
    return (this.q.msgsBefore.all(convId, beforeSeq, limit) as MsgRow[]).map(toMsg).reverse();
  }

  updateReadStates(updates: readonly ReadStateUpdate[]): void {
    // Rows are found by rowid when all of a chunk's are known; the cache is only trusted inside
    // a transaction, whose start checked that nobody else wrote.
    const trusted = this.checked;
    for (let i = 0; i < updates.length; i += MULTI_ROW) {
      const n = Math.min(MULTI_ROW, updates.length - i);
      // A chunk whose updates all add the same small counts (an ack batch, one reader: a read
      // each, with or without its delivery; a delivery range: a delivery each) binds two
      // columns less: the counts are literals of the statement.
      const first = updates[i] as ReadStateUpdate;
      let same = first.added <= 1 && first.delivered <= 1;
      let byRowid = trusted;
      const keys: (string | number)[] = new Array<string | number>(n);
      for (let j = 0; j < n; j++) {
        const u = updates[i + j] as ReadStateUpdate;
        if (u.added !== first.added || u.delivered !== first.delivered) same = false;
        const rowid = byRowid ? this.rowids.get(u.messageId) : undefined;
        if (rowid === undefined) byRowid = false;
        keys[j] = rowid ?? u.messageId;
      }
      const width = same ? 3 : 5;
      const params: unknown[] = new Array(n * width);
      for (let j = 0, k = 0; j < n; j++) {
        const u = updates[i + j] as ReadStateUpdate;
        params[k++] = byRowid ? keys[j] : u.messageId;
        if (!same) {
          params[k++] = u.added;
          params[k++] = u.delivered;
        }
        params[k++] = u.lastReadAt;
        params[k++] = u.lastAckSeq;
      }
      const key = `${n}${same ? `c${first.added}${first.delivered}` : 'v'}${byRowid ? 'r' : 'i'}`;
      let stmt = this.updates.get(key);
      if (!stmt) {
        const read = same ? String(first.added) : 'v.n';
        const delivered = same ? String(first.delivered) : 'v.d';
        stmt = this.db.prepare(`WITH v(${same ? 'k, lr, la' : 'k, n, d, lr, la'}) AS (VALUES ${rows(n, width)})
          UPDATE messages SET read_count = read_count + ${read}, delivered_count = delivered_count + ${delivered},
            last_read_at = max(last_read_at, v.lr), last_ack_seq = max(last_ack_seq, v.la)
          FROM v WHERE messages.${byRowid ? 'rowid' : 'id'} = v.k`);
        this.updates.set(key, stmt);
      }
      stmt.run(params);
    }
  }

  receiptChangesOf(senderId: string, afterAckSeq: number, limit: number): MessageRecord[] {
    return (this.q.changes.all(senderId, afterAckSeq, limit) as MsgRow[]).map(toMsg);
  }

  getRead(messageId: string, userId: string): ReadRecord | undefined {
    const r = this.q.getRead.get(messageId, userId) as ReadRow | undefined;
    return r && toRead(r);
  }

  insertReads(recs: readonly ReadRecord[]): string[] {
    // Private reads (rare) go in one by one; public ones through the multi-row statement below.
    if (recs.some((r) => r.private)) {
      const inserted: string[] = [];
      const pub = recs.filter((r) => !r.private);
      const done = new Set(this.insertReads(pub).map((m) => m));
      for (const r of recs) {
        if (!r.private) {
          if (done.delete(r.messageId)) inserted.push(r.messageId);
        } else if (this.q.insPrivateRead.run(r.messageId, r.userId, r.readAt, r.ackSeq).changes === 1) inserted.push(r.messageId);
      }
      return inserted;
    }
    const inserted: string[] = [];
    let seen: Set<string> | undefined;
    for (let i = 0; i < recs.length; i += MULTI_ROW) {
      const n = Math.min(MULTI_ROW, recs.length - i);
      const params: unknown[] = new Array(n * 4);
      for (let j = 0; j < n; j++) {
        const r = recs[i + j] as ReadRecord;
        params[j * 4] = r.messageId;
        params[j * 4 + 1] = r.userId;
        params[j * 4 + 2] = r.readAt;
        params[j * 4 + 3] = r.ackSeq;
      }
      // No RETURNING (it costs about a third of the insert): the row count tells whether every
      // row went in, the usual case. Only when some were skipped are the chunk's rows looked up:
      // a row is ours when the stored read carries the ack sequence we gave it (they are unique).
      const changes = this.insertStatement(n).run(params).changes;
      if (changes === n) {
        for (let j = 0; j < n; j++) inserted.push((recs[i + j] as ReadRecord).messageId);
        this.setReadBits(recs, i, n, null);
        continue;
      }
      const fresh: number[] = [];
      for (let j = 0; j < n; j++) {
        const r = recs[i + j] as ReadRecord;
        const key = `${r.messageId}\u0000${r.userId}`;
        if (seen?.has(key)) continue;
        (seen ??= new Set()).add(key);
        if (this.q.readSeq.get(r.messageId, r.userId) === r.ackSeq) {
          inserted.push(r.messageId);
          fresh.push(i + j);
        }
      }
      if (fresh.length > 0) this.setReadBits(recs, 0, fresh.length, fresh);
    }
    return inserted;
  }

  /**
   * Sets the readers' bits in their messages' reader bitmaps (public reads that just went in):
   * `recs[at[k]]` for k < n, or `recs[from + k]` when `at` is null. One statement for up to
   * MULTI_ROW reads; the message's conversation and the reader's ordinal are looked up in it.
   */
  private setReadBits(recs: readonly ReadRecord[], from: number, n: number, at: readonly number[] | null): void {
    const params: unknown[] = new Array(n * 2);
    for (let k = 0; k < n; k++) {
      const r = recs[at ? (at[k] as number) : from + k] as ReadRecord;
      params[k * 2] = r.messageId;
      params[k * 2 + 1] = r.userId;
    }
    let stmt = this.bitsInserts[n];
    if (!stmt) {
      this.bitsInserts[n] = stmt = this.db.prepare(
        READ_BITS_SET(`SELECT v.column1 AS m, o.ordinal AS ord FROM (VALUES ${rows(n, 2)}) v
          JOIN messages msg ON msg.id = v.column1 JOIN member_ordinals o ON o.conv_id = msg.conv_id AND o.user_id = v.column2`),
      );
    }
    stmt.run(params);
  }

  /** The multi-row read insert for `n` rows, prepared once per row count. */
  private insertStatement(n: number): Database.Statement {
    let stmt = this.inserts[n];
    if (!stmt) this.inserts[n] = stmt = this.db.prepare(`INSERT OR IGNORE INTO reads (message_id, user_id, read_at, ack_seq) VALUES ${rows(n, 4)}`);
    return stmt;
  }

  insertDeliveries(recs: readonly DeliveryRecord[]): string[] {
    const inserted: string[] = [];
    let seen: Set<string> | undefined;
    for (let i = 0; i < recs.length; i += MULTI_ROW) {
      const n = Math.min(MULTI_ROW, recs.length - i);
      const params: unknown[] = new Array(n * 3);
      for (let j = 0; j < n; j++) {
        const d = recs[i + j] as DeliveryRecord;
        params[j * 3] = d.messageId;
        params[j * 3 + 1] = d.userId;
        params[j * 3 + 2] = d.ackSeq;
      }
      // As for reads, without RETURNING: all in or none in (the usual cases: a read batch after
      // the worker's deliveries, or a range delivered for the first time) need no lookup; a
      // partial chunk looks its rows up, ours being those carrying the ack sequence we gave.
      const changes = this.deliveryStatement(n).run(params).changes;
      if (changes === 0) continue;
      for (let j = 0; j < n; j++) {
        const d = recs[i + j] as DeliveryRecord;
        if (changes === n) inserted.push(d.messageId);
        else {
          const key = `${d.messageId}\u0000${d.userId}`;
          if (seen?.has(key)) continue;
          (seen ??= new Set()).add(key);
          if (this.q.deliverySeq.get(d.messageId, d.userId) === d.ackSeq) inserted.push(d.messageId);
        }
      }
    }
    return inserted;
  }

  /** The multi-row delivery insert for `n` rows, prepared once per row count. */
  private deliveryStatement(n: number): Database.Statement {
    let stmt = this.deliveryInserts[n];
    if (!stmt) this.deliveryInserts[n] = stmt = this.db.prepare(`INSERT OR IGNORE INTO deliveries (message_id, user_id, ack_seq) VALUES ${rows(n, 3)}`);
    return stmt;
  }

  readsAfter(messageId: string, afterAckSeq: number, limit: number): ReadRecord[] {
    return (this.q.readsAfter.all(messageId, afterAckSeq, limit) as ReadRow[]).map(toRead);
  }

  readsByUserAfter(userId: string, afterAckSeq: number, limit: number): ReadRecord[] {
    return (this.q.readsByUser.all(userId, afterAckSeq, limit) as ReadRow[]).map(toRead);
  }

  readsOf(userId: string, messageIds: readonly string[]): ReadRecord[] {
    if (messageIds.length === 0) return [];
    return (this.q.readsOf.all(userId, JSON.stringify(messageIds)) as ReadRow[]).map(toRead);
  }

  getReceiptMode(userId: string): 'public' | 'private' {
    return this.q.getMode.get(userId) === 'private' ? 'private' : 'public';
  }

  putReceiptMode(userId: string, mode: 'public' | 'private'): void {
    this.q.putMode.run(userId, mode);
  }

  getReadPosition(convId: string, userId: string): ReadPositionRecord | undefined {
    const r = this.q.getPos.get(userId, convId) as PositionRow | undefined;
    return r && toPosition(r);
  }

  putReadPosition(rec: ReadPositionRecord): void {
    this.q.putPos.run(rec.userId, rec.convId, rec.seq, rec.readAt);
  }

  readPositionsOf(userId: string, convIds: readonly string[]): ReadPositionRecord[] {
    if (convIds.length === 0) return [];
    return (this.q.posOf.all(userId, JSON.stringify(convIds)) as PositionRow[]).map(toPosition);
  }

  lastAckSeq(): number {
    return this.ackSeq;
  }

  reserveAckSeqs(count: number): number {
    const first = this.ackSeq + 1;
    this.ackSeq += count;
    // Inside a transaction the counter is written at commit; outside, now.
    if (!this.db.inTransaction) this.q.setAck.run(this.ackSeq);
    return first;
  }

  getBatchResult(userId: string, batchId: string): AckBatchResponse | undefined {
    const json = this.q.getBatch.get(userId, batchId) as string | undefined;
    return json === undefined ? undefined : decodeBatchResult(json, batchId);
  }

  putBatchResult(userId: string, batchId: string, result: AckBatchResponse, at: number): void {
    this.q.putBatch.run(userId, batchId, encodeBatchResult(result, batchId), at);
  }

  pruneBatchResults(before: number): void {
    this.q.pruneBatches.run(before);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** The bitmap queries `sqliteZeros` uses (prepared in SqliteOps). */
interface ChunkQueries {
  openChunks: Database.Statement;
  countChunks: Database.Statement;
  lastChunk: Database.Statement;
  chunkList: Database.Statement;
}

/**
 * Zero-bit ordinals in [from, bound] of a message's read_bits (64 a row), at
 * least `want` unless fewer remain. The rows that are not full come from one
 * scan that steps over full rows inside SQLite; a row count tells whether
 * the stretch they cover misses rows (all zeros): none, all, all after the
 * last one, or else the row numbers are read (a stretch of a few reads).
 */
function sqliteZeros(q: ChunkQueries, messageId: string, from: number, bound: number, want: number): Zeros {
  const ordinals: number[] = [];
  if (from > bound) return { ordinals, scannedTo: from - 1, bound };
  const lo = from >> 6;
  const hi = bound >> 6;
  const open = q.openChunks.all(messageId, lo, hi, want + 1) as [bigint, bigint][];
  // Enough rows with zeros: nothing past the last of them is needed.
  const to = open.length > want ? Number((open[open.length - 1] as [bigint, bigint])[0]) : hi;
  const stored = q.countChunks.get(messageId, lo, to) as number;
  let present: (c: number) => boolean;
  if (stored === to - lo + 1) present = () => true;
  else if (stored === 0) present = () => false;
  else {
    const last = q.lastChunk.get(messageId, lo, to) as number;
    if (stored === last - lo + 1) present = (c) => c <= last;
    else {
      const list = new Set(q.chunkList.all(messageId, lo, to, stored) as number[]);
      present = (c) => list.has(c);
    }
  }
  const openBits = new Map<number, bigint>();
  for (const [c, b] of open) openBits.set(Number(c), b);
  const end = Math.min(bound, to * 64 + 63);
  for (let c = lo; c <= to; c++) {
    const base = c * 64;
    const first = Math.max(from, base);
    const last = Math.min(end, base + 63);
    const bits = present(c) ? openBits.get(c) : 0n;
    if (bits === undefined) continue; // a full row
    const low = Number(bits & 0xffffffffn);
    const high = Number((bits >> 32n) & 0xffffffffn);
    for (let o = first; o <= last; o++) {
      const i = o - base;
      if ((((i < 32 ? low : high) >>> (i & 31)) & 1) === 0) {
        ordinals.push(o);
        if (ordinals.length >= want) return { ordinals, scannedTo: o, bound };
      }
    }
  }
  return { ordinals, scannedTo: end, bound };
}
