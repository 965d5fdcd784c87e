import { createHash } from 'node:crypto';
import type * as PgNamespace from 'pg';
import type { Client, Pool, PoolClient } from 'pg';
import type { AckBatchResponse } from '../../protocol';
import { PostgresChangeFeed } from './PostgresChangeFeed';
import { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from './postgresMigrations';
import type { AudienceMember, ChangeFeed, ConversationRecord, DeliveryRecord, MemberSpan, MessageRecord, MessageRef, ReadPositionRecord, ReadRecord, ReadStateUpdate, Store } from './Store';
import { decodeBatchResult, encodeBatchResult } from './sqliteRows';
import { CHUNK_BITS, walkUnreadAsync, zerosInChunks, type AsyncUnreadWalkSource } from './unreadWalk';

/** Options of `PostgresStore`. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (node-postgres's connection string, `?sslmode=…` included). */
  connectionString: string;
  /** Connections in this process's pool (default 10); also how many requests the server keeps in flight. */
  poolSize?: number;
  /** Schema that holds readsync's tables (default `readsync`): several deployments can share a database. */
  schema?: string;
  /** Errors of idle pool connections, of the notification listener and of receipt log compaction (default: console.error). */
  onError?: (err: unknown) => void;
  /**
   * How often the receipt log is compacted, in ms (default one hour; 0: never by itself, call
   * `compactReceiptLog`). One node of the cluster does each pass (a row of `counters` says when
   * the last one started); see `compactReceiptLog`.
   */
  receiptLogCompactionMs?: number;
}

/** What one pass of `compactReceiptLog` did. */
export interface ReceiptLogCompaction {
  /** The pass covered log rows up to this position (the committed ack position when it started). */
  upTo: number;
  /** Log rows read. */
  rows: number;
  /** Their entries (message ids) looked up. */
  entries: number;
  /** Rows deleted: none of their messages' states was last moved by their statement any more. */
  dropped: number;
  /** Rows rewritten with only the messages whose states their statement still holds. */
  shrunk: number;
}

/** Thrown when `pg` is not installed; `code` is stable. */
export class MissingPostgresDriverError extends Error {
  override readonly name = 'MissingPostgresDriverError';
  readonly code = 'missing-server-packages';
  constructor() {
    super('PostgresStore needs the `pg` package, an optional peer dependency of readsync. Install it: npm install pg@8');
  }
}

/** Thrown when the database's schema is not the version this code needs. */
export class SchemaVersionError extends Error {
  override readonly name = 'SchemaVersionError';
  readonly code = 'schema-version';
}

type PgModule = typeof PgNamespace;
/**
 * What a session needs of a pool or a client: `query`. Our own shape, so the
 * published declarations never name pg's types (`@types/pg` is not needed to
 * use readsync/server).
 */
interface Queryable {
  query<R extends QueryResultRow>(config: { name?: string; text: string; values?: unknown[] }): Promise<{ rows: R[]; rowCount: number | null }>;
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows of any shape, as pg types them
type QueryResultRow = Record<string, any>;

/** What a transaction tells the other nodes at commit: positions, never data. */
interface TxNotes {
  /** Highest ack sequence number reserved (0: none). */
  ackSeq: number;
  /** convId → [fromSeq, toSeq] of messages inserted. */
  messages: Map<string, [number, number]>;
  /** convId → position of a creation or membership change. */
  conversations: Map<string, number>;
  /** Batch results to store, written with the COMMIT (one round trip less while the ack sequence is held). */
  batches: { userId: string; batchId: string; result: string; at: number }[];
  /** BEGIN was sent: it goes with the transaction's first statement (one round trip less). */
  begun: boolean;
  /** userId → own reads inserted (lowest ack sequence number) and whether a read position moved: their other devices are told. */
  users?: Map<string, { firstAckSeq: number; positions: boolean }>;
  /** Users whose settings were written: their devices on every node are told (`settings`). */
  settings?: Set<string>;
}

interface MsgRow {
  id: string;
  conv_id: string;
  conv_type: MessageRecord['convType'];
  sender_id: string;
  text: string;
  need_receipt: boolean;
  seq: number;
  sent_at: number;
  audience_count: number;
  read_count: number;
  delivered_count: number;
  last_read_at: number;
  last_ack_seq: number;
}

/** A message with its receipt counters (0 until its first read or delivery). */
const MSG_SELECT = (s: string) =>
  `SELECT m.id, m.conv_id, m.conv_type, m.sender_id, m.text, m.need_receipt, m.seq, m.sent_at, m.audience_count,
    COALESCE(r.read_count, 0) AS read_count, COALESCE(r.delivered_count, 0) AS delivered_count, COALESCE(r.last_read_at, 0) AS last_read_at, COALESCE(r.last_ack_seq, 0) AS last_ack_seq
    FROM ${s}.messages m LEFT JOIN ${s}.receipt_states r ON r.message_id = m.id`;
/** Messages whose receipt changed, from the receipt states' side (their index gives the order). */
const CHANGED_SELECT = (s: string) =>
  `SELECT m.id, m.conv_id, m.conv_type, m.sender_id, m.text, m.need_receipt, m.seq, m.sent_at, m.audience_count, r.read_count, r.delivered_count, r.last_read_at, r.last_ack_seq
    FROM ${s}.receipt_states r JOIN ${s}.messages m ON m.id = r.message_id`;
const toMsg = (r: MsgRow): MessageRecord => ({
  id: r.id,
  convId: r.conv_id,
  convType: r.conv_type,
  senderId: r.sender_id,
  text: r.text,
  needReadReceipt: r.need_receipt,
  seq: r.seq,
  sentAt: r.sent_at,
  audienceCount: r.audience_count,
  readCount: r.read_count,
  deliveredCount: r.delivered_count,
  lastReadAt: r.last_read_at,
  lastAckSeq: r.last_ack_seq,
});
/** A row of `reads`. */
interface ReadRow {
  message_id: string;
  user_id: string;
  read_at: number;
  ack_seq: number;
  private: boolean;
}
const toRead = (r: ReadRow): ReadRecord =>
  r.private
    ? { messageId: r.message_id, userId: r.user_id, readAt: r.read_at, ackSeq: r.ack_seq, private: true }
    : { messageId: r.message_id, userId: r.user_id, readAt: r.read_at, ackSeq: r.ack_seq };
const toSpan = (r: { conv_id: string; user_id: string; joined_seq: number; left_seq: number | null }): MemberSpan => ({
  convId: r.conv_id,
  userId: r.user_id,
  joinedSeq: r.joined_seq,
  leftSeq: r.left_seq,
});

/** SQLSTATEs after which a transaction is simply run again: serialization failure, deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;
/** Transactions committed together at most (the queue is bounded by the server's concurrency anyway). */
const MAX_GROUP = 32;

/** A transaction waiting for its group. */
interface Queued {
  fn: (tx: Store) => Promise<unknown>;
  resolve: (out: unknown) => void;
  reject: (err: unknown) => void;
}

/** Shared by the store and its transactions. */
interface Shared {
  s: string;
  channel: string;
  /** Runs a top-level transaction on a connection of its own. */
  run<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
}

/**
 * The store's operations over one connection: the pool (each statement on
 * its own, autocommit) or a transaction's client. `PostgresStore` is the
 * former; `transaction` hands `fn` the latter.
 */
class PostgresSession implements Store {
  constructor(
    private readonly db: Queryable,
    private readonly shared: Shared,
    private readonly notes: TxNotes | null,
  ) {}

  /** A statement, prepared once per connection under `name` (or planned for its values each time, when `name` is null). */
  protected async rows<R extends QueryResultRow>(name: string | null, text: string, values: unknown[]): Promise<R[]> {
    await this.begin();
    return (await this.db.query<R>(name === null ? { text, values } : { name, text, values })).rows;
  }

  /** Inside a transaction, sends its BEGIN before the first statement (unless that statement carried it). */
  private async begin(): Promise<void> {
    if (!this.notes || this.notes.begun) return;
    this.notes.begun = true;
    await this.db.query('BEGIN');
  }

  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return this.notes ? fn(this) : this.shared.run(fn);
  }

  async getConversation(id: string): Promise<ConversationRecord | undefined> {
    const { s } = this.shared;
    // Inside a transaction the row is locked until it ends: the next position is ours to write.
    const lock = this.notes ? ' FOR UPDATE' : '';
    const [r] = await this.rows<{ id: string; type: ConversationRecord['type']; group_type: ConversationRecord['groupType']; name: string; user_a: string | null; user_b: string | null; seq: number; member_count: number; created_at: number }>(
      `rs-get-conv${lock ? '-lock' : ''}`,
      `SELECT * FROM ${s}.conversations WHERE id = $1${lock}`,
      [id],
    );
    if (!r) return undefined;
    return {
      id: r.id,
      type: r.type,
      groupType: r.group_type,
      name: r.name,
      c2cUsers: r.user_a !== null && r.user_b !== null ? [r.user_a, r.user_b] : null,
      seq: r.seq,
      memberCount: r.member_count,
      createdAt: r.created_at,
    };
  }

  async insertConversation(rec: ConversationRecord): Promise<void> {
    const { s } = this.shared;
    await this.rows(
      'rs-ins-conv',
      `INSERT INTO ${s}.conversations (id, type, group_type, name, user_a, user_b, seq, member_count, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [rec.id, rec.type, rec.groupType, rec.name, rec.c2cUsers?.[0] ?? null, rec.c2cUsers?.[1] ?? null, rec.seq, rec.memberCount, rec.createdAt],
    );
    this.notes?.conversations.set(rec.id, rec.seq);
  }

  async updateConversation(id: string, fields: { seq: number; memberCount: number }): Promise<void> {
    await this.rows('rs-upd-conv', `UPDATE ${this.shared.s}.conversations SET seq = $1, member_count = $2 WHERE id = $3`, [fields.seq, fields.memberCount, id]);
  }

  async currentSpan(convId: string, userId: string): Promise<MemberSpan | undefined> {
    const [r] = await this.rows<Parameters<typeof toSpan>[0]>(
      'rs-cur-span',
      `SELECT * FROM ${this.shared.s}.spans WHERE conv_id = $1 AND user_id = $2 AND left_seq IS NULL`,
      [convId, userId],
    );
    return r && toSpan(r);
  }

  async spansOf(convId: string, userId: string): Promise<MemberSpan[]> {
    return (
      await this.rows<Parameters<typeof toSpan>[0]>('rs-spans-of', `SELECT * FROM ${this.shared.s}.spans WHERE conv_id = $1 AND user_id = $2 ORDER BY joined_seq`, [convId, userId])
    ).map(toSpan);
  }

  async spanAt(convId: string, userId: string, seq: number): Promise<MemberSpan | undefined> {
    const [r] = await this.rows<Parameters<typeof toSpan>[0]>(
      'rs-span-at',
      `SELECT * FROM ${this.shared.s}.spans WHERE conv_id = $1 AND user_id = $2 AND joined_seq < $3 AND (left_seq IS NULL OR left_seq > $3) LIMIT 1`,
      [convId, userId, seq],
    );
    return r && toSpan(r);
  }

  async openSpans(convId: string, userIds: readonly string[], joinedSeq: number): Promise<void> {
    if (userIds.length === 0) return;
    await this.rows(
      'rs-open-spans',
      `INSERT INTO ${this.shared.s}.spans (conv_id, user_id, joined_seq, left_seq) SELECT $1, u, $3, NULL FROM unnest($2::text[]) AS u`,
      [convId, userIds, joinedSeq],
    );
    // First joiners get the next ordinals in the order given; returning members keep theirs. The
    // conversation row is locked by whoever changes its membership, so nobody else numbers meanwhile.
    const { s } = this.shared;
    await this.rows(
      'rs-ordinals',
      `WITH base AS (SELECT COALESCE(max(ordinal), -1) AS n FROM ${s}.member_ordinals WHERE conv_id = $1),
        fresh AS (SELECT u.id, u.ord FROM unnest($2::text[]) WITH ORDINALITY AS u(id, ord)
          WHERE NOT EXISTS (SELECT 1 FROM ${s}.member_ordinals o WHERE o.conv_id = $1 AND o.user_id = u.id))
        INSERT INTO ${s}.member_ordinals (conv_id, ordinal, user_id, first_seq)
          SELECT $1, (base.n + row_number() OVER (ORDER BY fresh.ord))::integer, fresh.id, $3 FROM fresh, base`,
      [convId, userIds, joinedSeq],
    );
    if (this.notes && !this.notes.conversations.has(convId)) this.notes.conversations.set(convId, joinedSeq);
    // A bulk join (a large group created or imported) changes the table more than the planner's
    // statistics know until autovacuum comes by; with them stale, a member page was planned as a
    // sort of the whole group (96 ms instead of 0.3 ms at 100,000 members). Refresh them now.
    if (userIds.length >= 10_000) await this.rows(null, `ANALYZE ${s}.spans, ${s}.member_ordinals`, []);
  }

  async closeSpan(convId: string, userId: string, leftSeq: number): Promise<void> {
    await this.begin();
    const res = await this.db.query({
      name: 'rs-close-span',
      text: `UPDATE ${this.shared.s}.spans SET left_seq = $1 WHERE conv_id = $2 AND user_id = $3 AND left_seq IS NULL`,
      values: [leftSeq, convId, userId],
    });
    if (res.rowCount !== 1) throw new Error(`${userId} is not a member of ${convId}`);
    this.notes?.conversations.set(convId, leftSeq);
  }

  async conversationsOf(userId: string): Promise<string[]> {
    return (
      await this.rows<{ conv_id: string }>('rs-convs-of', `SELECT conv_id FROM ${this.shared.s}.spans WHERE user_id = $1 AND left_seq IS NULL ORDER BY conv_id`, [userId])
    ).map((r) => r.conv_id);
  }

  async membersAmong(convId: string, userIds: readonly string[], leftAt?: number): Promise<string[]> {
    if (userIds.length === 0) return [];
    return (
      await this.rows<{ user_id: string }>(
        'rs-members-among',
        `SELECT DISTINCT user_id FROM ${this.shared.s}.spans WHERE conv_id = $1 AND user_id = ANY($2::text[]) AND (left_seq IS NULL OR left_seq = $3)`,
        [convId, userIds, leftAt ?? -1],
      )
    ).map((r) => r.user_id);
  }

  async unreadAudience(message: Pick<MessageRecord, 'id' | 'convId' | 'seq' | 'senderId'>, afterOrdinal: number | null, limit: number, asOf?: number): Promise<AudienceMember[]> {
    const { s } = this.shared;
    // Outside a transaction each statement sees what was committed when it began. The bitmap is
    // read before the reads after the snapshot: a read whose bit a chunk showed had committed by
    // then, so the later statement sees its row too (and counts it unread if it came after).
    const src: AsyncUnreadWalkSource = {
      zeros: async (from, known, want) => {
        // Up to 128 chunks of 1,024 members (a 100,000-member group's message has 98); on the first
        // step the bound comes in the same statement (every row carries it; a row with no chunk
        // when none is stored).
        const lo = Math.floor(from / CHUNK_BITS);
        const rows = await this.rows<{ bound: number | null; chunk: number | null; bits: Buffer | null }>(
          'rs-read-bits',
          `WITH b AS (SELECT COALESCE($4::int4, (SELECT ordinal FROM ${s}.member_ordinals WHERE conv_id = $1 AND first_seq < $2 ORDER BY first_seq DESC, ordinal DESC LIMIT 1), -1) AS bound)
            SELECT b.bound, r.chunk, substring(bit_send(r.bits) FROM 5) AS bits FROM b LEFT JOIN ${s}.read_bits r
              ON r.message_id = $3 AND r.chunk >= $5 AND r.chunk <= LEAST($5 + ${CHUNKS_PER_READ - 1}, b.bound >> 10)
            ORDER BY r.chunk`,
          [message.convId, message.seq, message.id, known, lo],
        );
        const bound = rows[0]?.bound ?? -1;
        const hi = Math.min(Math.floor(bound / CHUNK_BITS), lo + CHUNKS_PER_READ - 1);
        const chunks = rows.flatMap((r) => (r.chunk === null || r.bits === null ? [] : [{ chunk: r.chunk, bits: bitStringBytes(r.bits) }]));
        return zerosInChunks(chunks, hi, from, bound, want);
      },
      members: async (ordinals, late) =>
        (
          await this.rows<{ ordinal: number; user_id: string }>(
            'rs-unread-members',
            `WITH c AS (SELECT unnest($2::int4[]) AS ord
                UNION SELECT o.ordinal FROM ${s}.reads r JOIN ${s}.member_ordinals o ON o.conv_id = $1 AND o.user_id = r.user_id
                  WHERE $6::int4 IS NOT NULL AND r.message_id = $5 AND r.ack_seq > $7 AND NOT r.private AND o.ordinal > $6 AND o.ordinal <= $8)
              SELECT o.ordinal, o.user_id FROM c JOIN ${s}.member_ordinals o ON o.conv_id = $1 AND o.ordinal = c.ord
              WHERE o.user_id <> $3 AND EXISTS (SELECT 1 FROM ${s}.spans sp WHERE sp.conv_id = $1 AND sp.user_id = o.user_id
                AND sp.joined_seq < $4 AND (sp.left_seq IS NULL OR sp.left_seq > $4))
              ORDER BY o.ordinal`,
            [message.convId, `{${ordinals.join(',')}}`, message.senderId, message.seq, message.id, late?.after ?? null, asOf ?? Number.MAX_SAFE_INTEGER, late?.upTo ?? null],
          )
        ).map((r) => ({ ordinal: r.ordinal, userId: r.user_id })),
    };
    return walkUnreadAsync(src, afterOrdinal, limit, asOf !== undefined);
  }

  async deliveredUnread(messageId: string, afterUserId: string | null, limit: number, asOf?: number): Promise<string[]> {
    const { s } = this.shared;
    return (
      // As unreadAudience: a walk of the message's deliveries in user_id order (their primary key)
      // with one reads-index probe per delivery, LIMIT 1 so it is never planned as a hash anti-join
      // over every reader of the message.
      await this.rows<{ user_id: string }>(
        'rs-delivered-unread',
        `SELECT d.user_id FROM ${s}.deliveries d
          LEFT JOIN LATERAL (SELECT 1 AS hit FROM ${s}.reads r WHERE r.message_id = $1 AND r.user_id = d.user_id AND r.ack_seq <= $4 AND NOT r.private LIMIT 1) rd ON true
          WHERE d.message_id = $1 AND d.user_id > $2 AND d.ack_seq <= $4
            AND rd.hit IS NULL
          ORDER BY d.user_id LIMIT $3`,
        [messageId, afterUserId ?? '', limit, asOf ?? Number.MAX_SAFE_INTEGER],
      )
    ).map((r) => r.user_id);
  }

  async getMessage(id: string): Promise<MessageRecord | undefined> {
    const [r] = await this.rows<MsgRow>('rs-get-msg', `${MSG_SELECT(this.shared.s)} WHERE m.id = $1`, [id]);
    return r && toMsg(r);
  }

  async getMessages(ids: readonly string[]): Promise<MessageRecord[]> {
    if (ids.length === 0) return [];
    return (await this.rows<MsgRow>('rs-get-msgs', `${MSG_SELECT(this.shared.s)} WHERE m.id = ANY($1::text[])`, [ids])).map(toMsg);
  }

  async insertMessage(rec: MessageRecord): Promise<void> {
    const { s } = this.shared;
    await this.rows(
      'rs-ins-msg',
      `INSERT INTO ${s}.messages (id, conv_id, conv_type, sender_id, text, need_receipt, seq, sent_at, audience_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [rec.id, rec.convId, rec.convType, rec.senderId, rec.text, rec.needReadReceipt, rec.seq, rec.sentAt, rec.audienceCount],
    );
    if (rec.readCount !== 0 || rec.deliveredCount !== 0 || rec.lastReadAt !== 0 || rec.lastAckSeq !== 0) {
      // A message stored with its state (an import): logged at its own position, as version 2 carried existing states over.
      await this.rows(
        'rs-ins-state',
        `WITH st AS (INSERT INTO ${s}.receipt_states (message_id, sender_id, read_count, last_read_at, last_ack_seq, delivered_count) VALUES ($1, $2, $3, $4, $5, $6))
          INSERT INTO ${s}.receipt_log AS l (pos, sender_id, message_ids) VALUES ($5, $2, ARRAY[$1]::text[])
          ON CONFLICT (pos, sender_id) DO UPDATE SET message_ids = l.message_ids || excluded.message_ids`,
        [rec.id, rec.senderId, rec.readCount, rec.lastReadAt, rec.lastAckSeq, rec.deliveredCount],
      );
    }
    if (this.notes) {
      const range = this.notes.messages.get(rec.convId);
      if (range) {
        range[0] = Math.min(range[0], rec.seq - 1);
        range[1] = Math.max(range[1], rec.seq);
      } else this.notes.messages.set(rec.convId, [rec.seq - 1, rec.seq]);
    }
  }

  async messagesAfter(convId: string, afterSeq: number, limit: number): Promise<MessageRecord[]> {
    return (
      await this.rows<MsgRow>('rs-msgs-after', `${MSG_SELECT(this.shared.s)} WHERE m.conv_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3`, [convId, afterSeq, limit])
    ).map(toMsg);
  }

  async receiptMessagesInRange(convId: string, afterSeq: number, upToSeq: number, notSender: string, limit: number): Promise<MessageRef[]> {
    return (
      await this.rows<{ id: string; sender_id: string; seq: number }>(
        'rs-receipt-range',
        `SELECT id, sender_id, seq FROM ${this.shared.s}.messages
          WHERE conv_id = $1 AND seq > $2 AND seq <= $3 AND need_receipt AND sender_id <> $4 ORDER BY seq LIMIT $5`,
        [convId, afterSeq, upToSeq, notSender, limit],
      )
    ).map((r) => ({ id: r.id, senderId: r.sender_id, seq: r.seq }));
  }

  async messagesBefore(convId: string, beforeSeq: number, limit: number): Promise<MessageRecord[]> {
    return (
      await this.rows<MsgRow>('rs-msgs-before', `${MSG_SELECT(this.shared.s)} WHERE m.conv_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3`, [convId, beforeSeq, limit])
    )
      .map(toMsg)
      .reverse();
  }

  async updateReadStates(updates: readonly ReadStateUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const ids: string[] = [];
    const added: number[] = [];
    const delivered: number[] = [];
    const readAt: number[] = [];
    const ackSeq: number[] = [];
    const at = new Map<string, number>();
    for (const u of updates) {
      // One row per message (an upsert may not touch a row twice): repeats are merged.
      const i = at.get(u.messageId);
      if (i !== undefined) {
        added[i]! += u.added;
        delivered[i]! += u.delivered;
        readAt[i] = Math.max(readAt[i]!, u.lastReadAt);
        ackSeq[i] = Math.max(ackSeq[i]!, u.lastAckSeq);
        continue;
      }
      at.set(u.messageId, ids.length);
      ids.push(u.messageId);
      added.push(u.added);
      delivered.push(u.delivered);
      readAt.push(u.lastReadAt);
      ackSeq.push(u.lastAckSeq);
    }
    // One statement for the batch, whatever its size: the arrays are its only parameters. The
    // first read or delivery of a message creates its narrow state row; an unknown message moves
    // nothing. The same statement logs, per sender, which messages moved at this position (the
    // receipt stream's index, see postgresMigrations): the state rows themselves carry no index on
    // what changes (delivered_count included, so a delivery's update is HOT too).
    const { s } = this.shared;
    await this.rows(
      'rs-upd-reads',
      `WITH up AS (INSERT INTO ${s}.receipt_states AS r (message_id, sender_id, read_count, last_read_at, last_ack_seq, delivered_count)
          SELECT v.id, m.sender_id, v.n, v.lr, v.la, v.d FROM unnest($1::text[], $2::int4[], $3::int8[], $4::int8[], $6::int4[]) AS v(id, n, lr, la, d) JOIN ${s}.messages m ON m.id = v.id
          ON CONFLICT (message_id) DO UPDATE SET read_count = r.read_count + excluded.read_count, delivered_count = r.delivered_count + excluded.delivered_count,
            last_read_at = GREATEST(r.last_read_at, excluded.last_read_at), last_ack_seq = GREATEST(r.last_ack_seq, excluded.last_ack_seq)
          RETURNING r.message_id, r.sender_id)
        INSERT INTO ${s}.receipt_log AS l (pos, sender_id, message_ids) SELECT $5, sender_id, array_agg(message_id) FROM up GROUP BY sender_id
        ON CONFLICT (pos, sender_id) DO UPDATE SET message_ids = l.message_ids || excluded.message_ids`,
      [ids, added, readAt, ackSeq, Math.max(...ackSeq), delivered],
    );
  }

  async receiptChangesOf(senderId: string, afterAckSeq: number, limit: number): Promise<MessageRecord[]> {
    return this.changedAfter(senderId, afterAckSeq, limit);
  }

  /**
   * Messages whose receipt state moved after `after` (of one sender, or of
   * all), ascending by `lastAckSeq`, at most `limit`, complete up to the last
   * one returned. Read from receipt_log in chunks of `limit` positions: a
   * chunk ends at a position L (every log row up to L read), so every message
   * whose state is at most L is among its messages; those whose state moved
   * past L wait for the next chunk. An ack statement's positions are one
   * reserved range, so no other statement's range straddles L.
   */
  protected async changedAfter(senderId: string | null, after: number, limit: number): Promise<MessageRecord[]> {
    const { s } = this.shared;
    const out: MessageRecord[] = [];
    for (;;) {
      const rows = await this.rows<MsgRow & { cut: number | null }>(
        senderId === null ? 'rs-states-after' : 'rs-changes-of',
        `WITH cut AS (SELECT (SELECT pos FROM ${s}.receipt_log WHERE pos > $1${senderId === null ? '' : ' AND sender_id = $4'} ORDER BY pos OFFSET $3::int8 - 1 LIMIT 1) AS l),
          ids AS (SELECT DISTINCT unnest(g.message_ids) AS id FROM ${s}.receipt_log g, cut WHERE g.pos > $1 AND (cut.l IS NULL OR g.pos <= cut.l)${senderId === null ? '' : ' AND g.sender_id = $4'}),
          changed AS (${CHANGED_SELECT(s)} JOIN ids ON ids.id = r.message_id, cut WHERE r.last_ack_seq > $1 AND (cut.l IS NULL OR r.last_ack_seq <= cut.l) ORDER BY r.last_ack_seq LIMIT $2)
          SELECT cut.l AS cut, changed.* FROM cut LEFT JOIN changed ON true ORDER BY changed.last_ack_seq`,
        senderId === null ? [after, limit - out.length, limit] : [after, limit - out.length, limit, senderId],
      );
      const cut = rows[0]?.cut ?? null;
      for (const r of rows) if (r.id !== null) out.push(toMsg(r));
      if (out.length >= limit || cut === null) return out;
      after = cut;
    }
  }

  /**
   * One step of `PostgresStore.compactReceiptLog`: the log rows after `after`, about `limit` of
   * them and none past `upTo`, each kept with only its live entries. An entry (row at `pos`,
   * message M) is live while M's state was last moved by that row's statement, which is when
   * M's last_ack_seq <= pos: a later statement that moves M logs it in a row of its own and
   * raises last_ack_seq into its own range of positions, above every earlier row's `pos`. Only
   * the live entry is ever read: changedAfter returns M when its last_ack_seq is in (after, cut],
   * found through a row at a position >= last_ack_seq, and the row of M's last statement is the
   * first such. So nothing a reader can ask for is removed: not the change feed's, not a client's
   * replay from however old a cursor. Rows rewritten meanwhile (an import logged at an old
   * position) are left alone: the DELETE and UPDATE check the array is still the one read.
   */
  protected async compactChunk(after: number, upTo: number, limit: number): Promise<{ cut: number; rows: number; entries: number; dropped: number; shrunk: number }> {
    const { s } = this.shared;
    const [r] = await this.rows<{ cut: number; rows: number; entries: number; dropped: number; shrunk: number }>(
      'rs-compact-log',
      `WITH cut AS (SELECT COALESCE((SELECT pos FROM ${s}.receipt_log WHERE pos > $1 AND pos <= $2 ORDER BY pos OFFSET $3::int8 - 1 LIMIT 1), $2) AS l),
        chunk AS (SELECT g.pos, g.sender_id, g.message_ids FROM ${s}.receipt_log g, cut WHERE g.pos > $1 AND g.pos <= cut.l),
        live AS (SELECT c.pos, c.sender_id, array_agg(DISTINCT u.id) AS ids
          FROM chunk c CROSS JOIN LATERAL unnest(c.message_ids) AS u(id) JOIN ${s}.receipt_states r ON r.message_id = u.id AND r.last_ack_seq <= c.pos
          GROUP BY c.pos, c.sender_id),
        dropped AS (DELETE FROM ${s}.receipt_log g USING chunk c LEFT JOIN live ON live.pos = c.pos AND live.sender_id = c.sender_id
          WHERE g.pos = c.pos AND g.sender_id = c.sender_id AND g.message_ids = c.message_ids AND live.pos IS NULL RETURNING 1),
        shrunk AS (UPDATE ${s}.receipt_log g SET message_ids = live.ids FROM chunk c JOIN live ON live.pos = c.pos AND live.sender_id = c.sender_id
          WHERE g.pos = c.pos AND g.sender_id = c.sender_id AND g.message_ids = c.message_ids AND cardinality(live.ids) < cardinality(c.message_ids) RETURNING 1)
        SELECT cut.l AS cut, (SELECT count(*) FROM chunk)::int4 AS rows, (SELECT COALESCE(sum(cardinality(message_ids)), 0) FROM chunk)::int8 AS entries,
          (SELECT count(*) FROM dropped)::int4 AS dropped, (SELECT count(*) FROM shrunk)::int4 AS shrunk FROM cut`,
      [after, upTo, limit],
    );
    return r ?? { cut: upTo, rows: 0, entries: 0, dropped: 0, shrunk: 0 };
  }

  async getRead(messageId: string, userId: string): Promise<ReadRecord | undefined> {
    const [r] = await this.rows<ReadRow>('rs-get-read', `SELECT * FROM ${this.shared.s}.reads WHERE message_id = $1 AND user_id = $2`, [messageId, userId]);
    return r && toRead(r);
  }

  async insertReads(recs: readonly ReadRecord[]): Promise<string[]> {
    if (recs.length === 0) return [];
    for (const r of recs) this.noteUser(r.userId, r.ackSeq, false);
    const ids: string[] = [];
    const users: string[] = [];
    const readAt: number[] = [];
    const ackSeq: number[] = [];
    for (const r of recs) {
      ids.push(r.messageId);
      users.push(r.userId);
      readAt.push(r.readAt);
      ackSeq.push(r.ackSeq);
    }
    // Rows already stored, or earlier in this call, are skipped (the first of a pair goes in). The
    // answer is one row: the count, and the ids only when some were skipped (500 rows back for a
    // 500-ack batch cost more to send and parse than the statement's own work).
    if (recs.some((x) => x.private)) return this.insertMixedReads(recs);
    const [r] = await this.rows<{ n: number; ids: string[] | null }>(
      'rs-ins-reads',
      `WITH ins AS (INSERT INTO ${this.shared.s}.reads (message_id, user_id, read_at, ack_seq)
          SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[]) ON CONFLICT DO NOTHING RETURNING message_id, user_id),
        bits AS (${readBitsInsert(this.shared.s, 'SELECT message_id, user_id FROM ins')})
        SELECT count(*)::int4 AS n, CASE WHEN count(*) < $5 THEN array_agg(message_id) END AS ids FROM ins`,
      [ids, users, readAt, ackSeq, recs.length],
    );
    if (!r || r.n === 0) return [];
    return r.ids ?? ids;
  }

  /**
   * An ack batch's reads in one statement (one round trip instead of four, and the ids sent once
   * instead of three times): the reservation of their ack sequence numbers, the reads, the
   * deliveries of the public ones that went in, their counters and the receipt log row. Data-
   * modifying CTEs see one snapshot and each other's effects only through RETURNING, which is all
   * each step needs of the one before: the deliveries and counters are those of the rows the read
   * insert returned, a delivery counted only if its row went in. Same rules as insertReads +
   * countNewReads (kept equal by a test that runs both on the same acks).
   */
  async insertCountedReads(reads: ReadRecord[], senders: readonly string[]): Promise<string[]> {
    const n = reads.length;
    if (n === 0) return [];
    const userId = reads[0]!.userId;
    if (reads.some((r) => r.userId !== userId)) throw new Error('insertCountedReads: the reads of one reader');
    const sender = senders[0] ?? '';
    const oneSender = senders.every((x) => x === sender);
    const { s } = this.shared;
    const [r] = await this.rows<{ base: number; n: number; ids: string[] | null }>(
      'rs-ack-reads',
      `WITH seq AS (UPDATE ${s}.counters SET value = value + $6 WHERE name = 'ack_seq' RETURNING value - $6 AS base),
        v AS (SELECT u.id, u.at, COALESCE(u.priv, false) AS priv, COALESCE(u.sender, $5) AS sender, seq.base + u.ord AS ack_seq
          FROM unnest($1::text[], $2::int8[], $3::bool[], $7::text[]) WITH ORDINALITY AS u(id, at, priv, sender, ord), seq),
        ins AS (INSERT INTO ${s}.reads (message_id, user_id, read_at, ack_seq, private)
          SELECT id, $4, at, ack_seq, priv FROM v ORDER BY ack_seq ON CONFLICT DO NOTHING RETURNING message_id, read_at, ack_seq, private),
        del AS (INSERT INTO ${s}.deliveries (message_id, user_id, ack_seq)
          SELECT message_id, $4, ack_seq FROM ins WHERE NOT private ON CONFLICT DO NOTHING RETURNING message_id),
        bits AS (${readBitsInsert(s, 'SELECT message_id, $4::text AS user_id FROM ins WHERE NOT private')}),
        up AS (INSERT INTO ${s}.receipt_states AS r (message_id, sender_id, read_count, last_read_at, last_ack_seq, delivered_count)
          SELECT i.message_id, v.sender, 1, i.read_at, i.ack_seq, CASE WHEN d.message_id IS NULL THEN 0 ELSE 1 END
            FROM ins i JOIN v ON v.ack_seq = i.ack_seq LEFT JOIN del d ON d.message_id = i.message_id WHERE NOT i.private
          ON CONFLICT (message_id) DO UPDATE SET read_count = r.read_count + 1, delivered_count = r.delivered_count + excluded.delivered_count,
            last_read_at = GREATEST(r.last_read_at, excluded.last_read_at), last_ack_seq = GREATEST(r.last_ack_seq, excluded.last_ack_seq)
          RETURNING r.message_id, r.sender_id),
        log AS (INSERT INTO ${s}.receipt_log AS l (pos, sender_id, message_ids)
          SELECT (SELECT max(ack_seq) FROM ins WHERE NOT private), sender_id, array_agg(message_id) FROM up GROUP BY sender_id
          ON CONFLICT (pos, sender_id) DO UPDATE SET message_ids = l.message_ids || excluded.message_ids)
        SELECT (SELECT base FROM seq) AS base, count(*)::int4 AS n, CASE WHEN count(*) < $6 THEN array_agg(message_id) END AS ids FROM ins`,
      [
        textArray(reads.map((x) => x.messageId)),
        `{${reads.map((x) => x.readAt).join(',')}}`,
        reads.some((x) => x.private) ? `{${reads.map((x) => (x.private ? 't' : 'f')).join(',')}}` : null,
        userId,
        sender,
        n,
        oneSender ? null : textArray(senders),
      ],
    );
    const base = r?.base ?? 0;
    for (let i = 0; i < n; i++) reads[i]!.ackSeq = base + i + 1;
    if (this.notes) this.notes.ackSeq = Math.max(this.notes.ackSeq, base + n);
    this.noteUser(userId, base + 1, false);
    if (!r || r.n === 0) return [];
    return r.ids ?? reads.map((x) => x.messageId);
  }

  /** Reads some of which are private (rare: the public ones take the statement above). In `recs` order. */
  private async insertMixedReads(recs: readonly ReadRecord[]): Promise<string[]> {
    const rows = await this.rows<{ message_id: string; user_id: string }>(
      'rs-ins-mixed-reads',
      `WITH ins AS (INSERT INTO ${this.shared.s}.reads (message_id, user_id, read_at, ack_seq, private)
          SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::bool[]) ON CONFLICT DO NOTHING RETURNING message_id, user_id, private),
        bits AS (${readBitsInsert(this.shared.s, 'SELECT message_id, user_id FROM ins WHERE NOT private')})
        SELECT message_id, user_id FROM ins`,
      [recs.map((r) => r.messageId), recs.map((r) => r.userId), recs.map((r) => r.readAt), recs.map((r) => r.ackSeq), recs.map((r) => r.private === true)],
    );
    const fresh = new Set(rows.map((r) => `${r.message_id}\u0000${r.user_id}`));
    const out: string[] = [];
    for (const r of recs) if (fresh.delete(`${r.messageId}\u0000${r.userId}`)) out.push(r.messageId);
    return out;
  }

  async insertDeliveries(recs: readonly DeliveryRecord[]): Promise<string[]> {
    if (recs.length === 0) return [];
    const ids: string[] = [];
    const users: string[] = [];
    const ackSeq: number[] = [];
    for (const r of recs) {
      ids.push(r.messageId);
      users.push(r.userId);
      ackSeq.push(r.ackSeq);
    }
    // As insertReads: rows already stored, or earlier in this call, are skipped (the first of a
    // pair goes in), and the answer is one row, with the inserted pairs only when some were skipped.
    const [r] = await this.rows<{ n: number; ids: string[] | null; users: string[] | null }>(
      'rs-ins-deliveries',
      `WITH ins AS (INSERT INTO ${this.shared.s}.deliveries (message_id, user_id, ack_seq)
          SELECT * FROM unnest($1::text[], $2::text[], $3::int8[]) ON CONFLICT DO NOTHING RETURNING message_id, user_id)
        SELECT count(*)::int4 AS n, CASE WHEN count(*) < $4 THEN array_agg(message_id) END AS ids, CASE WHEN count(*) < $4 THEN array_agg(user_id) END AS users FROM ins`,
      [ids, users, ackSeq, recs.length],
    );
    if (!r || r.n === 0) return [];
    if (!r.ids || !r.users) return ids;
    // Some were skipped: the inserted ones, in `recs` order (the first of a repeated pair).
    const fresh = new Set(r.ids.map((id, i) => `${id}\u0000${r.users![i]}`));
    const out: string[] = [];
    for (const d of recs) if (fresh.delete(`${d.messageId}\u0000${d.userId}`)) out.push(d.messageId);
    return out;
  }

  async readsAfter(messageId: string, afterAckSeq: number, limit: number): Promise<ReadRecord[]> {
    return (
      await this.rows<ReadRow>(
        'rs-reads-after',
        `SELECT * FROM ${this.shared.s}.reads WHERE message_id = $1 AND ack_seq > $2 AND NOT private ORDER BY ack_seq LIMIT $3`,
        [messageId, afterAckSeq, limit],
      )
    ).map(toRead);
  }

  async readsByUserAfter(userId: string, afterAckSeq: number, limit: number): Promise<ReadRecord[]> {
    return (
      await this.rows<ReadRow>('rs-reads-by-user', `SELECT * FROM ${this.shared.s}.reads WHERE user_id = $1 AND ack_seq > $2 ORDER BY ack_seq LIMIT $3`, [
        userId,
        afterAckSeq,
        limit,
      ])
    ).map(toRead);
  }

  async readsOf(userId: string, messageIds: readonly string[]): Promise<ReadRecord[]> {
    if (messageIds.length === 0) return [];
    return (
      await this.rows<ReadRow>('rs-reads-of', `SELECT * FROM ${this.shared.s}.reads WHERE user_id = $1 AND message_id = ANY($2::text[])`, [userId, [...messageIds]])
    ).map(toRead);
  }

  async getReceiptMode(userId: string): Promise<'public' | 'private'> {
    const [r] = await this.rows<{ receipts: string }>('rs-get-mode', `SELECT receipts FROM ${this.shared.s}.user_settings WHERE user_id = $1`, [userId]);
    return r?.receipts === 'private' ? 'private' : 'public';
  }

  async putReceiptMode(userId: string, mode: 'public' | 'private'): Promise<void> {
    const put = `INSERT INTO ${this.shared.s}.user_settings (user_id, receipts) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET receipts = excluded.receipts`;
    if (this.notes) {
      // Told with the commit, like every other change of the transaction.
      (this.notes.settings ??= new Set()).add(userId);
      await this.rows('rs-put-mode', put, [userId, mode]);
      return;
    }
    // On its own: the write and its notification in one statement (delivered when it commits).
    await this.rows('rs-put-mode-notify', `WITH put AS (${put} RETURNING 1) SELECT pg_notify($3, $4) FROM put`, [userId, mode, this.shared.channel, `s ${userId}`]);
  }

  async getReadPosition(convId: string, userId: string): Promise<ReadPositionRecord | undefined> {
    const [r] = await this.rows<{ seq: number; read_at: number }>(
      'rs-get-pos',
      `SELECT seq, read_at FROM ${this.shared.s}.read_positions WHERE user_id = $1 AND conv_id = $2`,
      [userId, convId],
    );
    return r && { convId, userId, seq: r.seq, readAt: r.read_at };
  }

  /** Records, for the commit's notifications, that `userId` read something (see TxNotes.users). */
  private noteUser(userId: string, ackSeq: number, positions: boolean): void {
    if (!this.notes) return;
    const users = (this.notes.users ??= new Map());
    const u = users.get(userId);
    if (!u) users.set(userId, { firstAckSeq: ackSeq, positions });
    else {
      u.firstAckSeq = Math.min(u.firstAckSeq, ackSeq);
      u.positions ||= positions;
    }
  }

  async putReadPosition(rec: ReadPositionRecord): Promise<void> {
    this.noteUser(rec.userId, Number.MAX_SAFE_INTEGER, true);
    await this.rows(
      'rs-put-pos',
      `INSERT INTO ${this.shared.s}.read_positions (user_id, conv_id, seq, read_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (user_id, conv_id) DO UPDATE SET seq = excluded.seq, read_at = excluded.read_at`,
      [rec.userId, rec.convId, rec.seq, rec.readAt],
    );
  }

  async readPositionsOf(userId: string, convIds: readonly string[]): Promise<ReadPositionRecord[]> {
    if (convIds.length === 0) return [];
    return (
      await this.rows<{ conv_id: string; seq: number; read_at: number }>(
        'rs-pos-of',
        `SELECT conv_id, seq, read_at FROM ${this.shared.s}.read_positions WHERE user_id = $1 AND conv_id = ANY($2::text[])`,
        [userId, [...convIds]],
      )
    ).map((r) => ({ convId: r.conv_id, userId, seq: r.seq, readAt: r.read_at }));
  }

  async lastAckSeq(): Promise<number> {
    const [r] = await this.rows<{ value: number }>('rs-last-ack', `SELECT value FROM ${this.shared.s}.counters WHERE name = 'ack_seq'`, []);
    return r?.value ?? 0;
  }

  async reserveAckSeqs(count: number): Promise<number> {
    // The row lock is held until the transaction ends: the next reservation (any node) waits for
    // our commit, so numbers become visible in order.
    const [r] = await this.rows<{ value: number }>('rs-reserve-ack', `UPDATE ${this.shared.s}.counters SET value = value + $1 WHERE name = 'ack_seq' RETURNING value`, [count]);
    const last = r?.value ?? count;
    if (this.notes) this.notes.ackSeq = Math.max(this.notes.ackSeq, last);
    return last - count + 1;
  }

  async getBatchResult(userId: string, batchId: string): Promise<AckBatchResponse | undefined> {
    const select = `SELECT result FROM ${this.shared.s}.batches WHERE user_id = ${literal(userId)} AND batch_id = ${literal(batchId)}`;
    let rows: { result: string }[];
    // Stored earlier in this transaction (several are committed together), not yet written.
    const mine = this.notes?.batches.find((b) => b.userId === userId && b.batchId === batchId);
    if (mine) return decodeBatchResult(mine.result, batchId);
    if (this.notes) {
      // The same batch on another node at the same time waits here for our commit, then finds our
      // result: a transaction-scoped advisory lock on the (user, batch) pair. The primary key of
      // `batches` is the backstop: a second insert of the pair fails the transaction. BEGIN (when
      // this is the transaction's first statement), the lock and the lookup go in one round trip,
      // as one simple query of escaped literals (the lookup is a new statement, so it sees a
      // result committed while we waited for the lock).
      const begin = this.notes.begun ? '' : 'BEGIN; ';
      this.notes.begun = true;
      const results = (await this.db.query(`${begin}SELECT pg_advisory_xact_lock(${batchLockKey(this.shared.s, userId, batchId)}); ${select}`)) as unknown;
      const all = (Array.isArray(results) ? results : [results]) as { rows: { result: string }[] }[];
      rows = all[all.length - 1]?.rows ?? [];
    } else {
      rows = await this.rows<{ result: string }>('rs-get-batch', `SELECT result FROM ${this.shared.s}.batches WHERE user_id = $1 AND batch_id = $2`, [userId, batchId]);
    }
    const r = rows[0];
    return r && decodeBatchResult(r.result, batchId);
  }

  async putBatchResult(userId: string, batchId: string, result: AckBatchResponse, at: number): Promise<void> {
    if (this.notes) {
      this.notes.batches.push({ userId, batchId, result: encodeBatchResult(result, batchId), at });
      return;
    }
    await this.rows('rs-put-batch', `INSERT INTO ${this.shared.s}.batches (user_id, batch_id, result, at) VALUES ($1, $2, $3, $4)`, [
      userId,
      batchId,
      encodeBatchResult(result, batchId),
      at,
    ]);
  }

  async pruneBatchResults(before: number): Promise<void> {
    await this.rows('rs-prune-batches', `DELETE FROM ${this.shared.s}.batches WHERE at < $1`, [before]);
  }

  close(): Promise<void> {
    return Promise.reject(new Error('close() inside a transaction'));
  }
}

/** A string as an SQL literal (standard_conforming_strings, the default since PostgreSQL 9.1: only quotes double). */
/**
 * The statement (for a data-modifying CTE) that sets the bits of public reads that just went in,
 * `reads` selecting their (message_id, user_id): their messages' conversations and the readers'
 * ordinals looked up, one row per chunk touched (bit_or), OR'ed into the stored chunk.
 */
function readBitsInsert(s: string, reads: string): string {
  return `INSERT INTO ${s}.read_bits AS b (message_id, chunk, bits)
    SELECT f.message_id, o.ordinal >> 10, bit_or(set_bit(B'0'::bit(1024), o.ordinal & 1023, 1))
      FROM (${reads}) f JOIN ${s}.messages m ON m.id = f.message_id JOIN ${s}.member_ordinals o ON o.conv_id = m.conv_id AND o.user_id = f.user_id
      GROUP BY f.message_id, o.ordinal >> 10
    ON CONFLICT (message_id, chunk) DO UPDATE SET bits = b.bits | excluded.bits`;
}

/** Reader bitmap chunks read per step of an UNREAD walk (a 100,000-member group has 98). */
const CHUNKS_PER_READ = 128;

/** Each byte with its bits in reverse order. */
const REVERSED = Uint8Array.from({ length: 256 }, (_, b) => {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 1 << (7 - i);
  return r;
});

/**
 * A bit(1024)'s bytes as bit_send gives them (its 4-byte length cut off: bit 0 is the high bit of
 * byte 0) → bytes with bit i = byte i >> 3, bit i & 7. Bytes, not the 1,024-character text form.
 */
function bitStringBytes(sent: Buffer): Uint8Array {
  const out = new Uint8Array(sent.length);
  for (let i = 0; i < sent.length; i++) out[i] = REVERSED[sent[i] as number] as number;
  return out;
}

function literal(value: string): string {
  if (value.includes('\u0000')) throw new Error('a NUL character cannot be stored');
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Strings as a PostgreSQL array literal, for a `$n::text[]` parameter: each element quoted, `"`
 * and `\` escaped (pg's own array encoding runs two regular expressions and a type check per
 * element; for the 500 ids of an ack batch this is a fraction of that).
 */
function textArray(values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v.includes('\u0000')) throw new Error('a NUL character cannot be stored');
    out += `${i === 0 ? '' : ','}"${v.includes('"') || v.includes('\\') ? v.replace(/["\\]/g, '\\$&') : v}"`;
  }
  return `${out}}`;
}

/** A 64-bit advisory lock key for (schema, user, batch), as a decimal string. */
function batchLockKey(schema: string, userId: string, batchId: string): string {
  const h = createHash('sha256').update(`${schema}\u0000${userId}\u0000${batchId}`).digest();
  return h.readBigInt64BE(0).toString();
}

const IDENT = /^[a-z_][a-z0-9_]{0,40}$/;
/** Receipt log rows per compaction statement. */
const COMPACT_CHUNK = 500;
const HOUR = 3600_000;

/**
 * `Store` on PostgreSQL through node-postgres (`pg`) and its pool, for
 * several server processes on one database. Same transactions and
 * invariants as `SqliteStore`: an ack batch is one transaction (all or
 * nothing), counts live on the message row (O(1) per ack), member pages are
 * index range reads, batch results are stored for idempotent replays.
 *
 * What makes it safe with many writers:
 * - a conversation read inside a transaction is locked (`FOR UPDATE`), so
 *   positions in its sequence are taken one at a time;
 * - the global ack sequence is a counter row updated inside the ack
 *   transaction: the next reservation waits for the commit, so positions
 *   become visible in order and a cursor never skips a later commit;
 * - a batch id is locked for its transaction (advisory lock) and its result
 *   has a unique key, so the same batch sent to two nodes is applied once.
 *
 * At commit a transaction NOTIFYs what moved (positions, never data); the
 * `changes` feed LISTENs, and each node's event hub reads what changed.
 * Create with `PostgresStore.open`; the schema comes from
 * `PostgresStore.migrate` (`readsync-server --pg <url> --migrate`).
 */
export class PostgresStore extends PostgresSession {
  readonly changes: ChangeFeed;
  readonly concurrency: number;
  private closed = false;
  /** The quoted schema, `"readsync"`. */
  private readonly tables: string;
  private readonly channel: string;
  private readonly txShared: Shared;
  /** Transactions waiting for the next group. */
  private readonly queue: Queued[] = [];
  private draining = false;
  private compactTimer: ReturnType<typeof setTimeout> | undefined;
  private compacting: Promise<unknown> | null = null;

  private constructor(
    private readonly pg: PgModule,
    private readonly pool: Pool,
    private readonly options: PostgresStoreOptions,
    schema: string,
  ) {
    const shared: Shared = {
      s: `"${schema}"`,
      channel: `readsync_${schema}`,
      run: (fn) => this.runTransaction(fn),
    };
    super(pool, shared, null);
    this.txShared = shared;
    this.tables = shared.s;
    this.channel = shared.channel;
    this.concurrency = options.poolSize ?? 10;
    this.changes = new PostgresChangeFeed(() => this.newClient(), shared.channel, (after, limit) => this.receiptStatesAfter(after, limit), options.onError);
    const every = options.receiptLogCompactionMs ?? HOUR;
    if (every > 0) this.scheduleCompaction(every);
  }

  /**
   * Connects to an already migrated database. Rejects with
   * `SchemaVersionError` if its schema is missing, older or newer than this
   * code's, and with `MissingPostgresDriverError` if `pg` is not installed.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = checkSchemaName(options.schema ?? 'readsync');
    const pg = await loadPg();
    const onError = options.onError ?? ((err: unknown) => console.error('readsync: PostgreSQL:', err));
    const pool = new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10, types: int8AsNumber(pg) });
    pool.on('error', onError); // an idle connection that broke: the pool replaces it
    try {
      const version = await schemaVersion(pool, schema);
      if (version !== POSTGRES_SCHEMA_VERSION) {
        throw new SchemaVersionError(
          version === 0
            ? `PostgreSQL schema "${schema}" is not set up: run readsync-server --pg <url> --migrate (or PostgresStore.migrate) first`
            : `PostgreSQL schema "${schema}" is at version ${version}, this readsync needs ${POSTGRES_SCHEMA_VERSION}: ${version < POSTGRES_SCHEMA_VERSION ? 'run readsync-server --pg <url> --migrate' : 'upgrade this server'}`,
        );
      }
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresStore(pg, pool, { ...options, onError }, schema);
  }

  /**
   * Applies the migrations the database lacks, each in its own transaction,
   * under an advisory lock (several nodes running it at once is safe).
   * Returns the versions before and after.
   */
  static async migrate(options: Pick<PostgresStoreOptions, 'connectionString' | 'schema'>): Promise<{ from: number; to: number }> {
    const schema = checkSchemaName(options.schema ?? 'readsync');
    const pg = await loadPg();
    const client = new pg.Client({ connectionString: options.connectionString, types: int8AsNumber(pg) });
    await client.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1::int8)', [batchLockKey(schema, 'readsync', 'migrate')]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS "${schema}".schema_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const from = await schemaVersion(client, schema);
      if (from > POSTGRES_SCHEMA_VERSION) throw new SchemaVersionError(`PostgreSQL schema "${schema}" is at version ${from}, newer than this readsync (${POSTGRES_SCHEMA_VERSION})`);
      for (const m of POSTGRES_MIGRATIONS) {
        if (m.version <= from) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql.replaceAll('{s}', `"${schema}"`));
          await client.query(`INSERT INTO "${schema}".schema_migrations (version, description) VALUES ($1, $2)`, [m.version, m.description]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
      return { from, to: POSTGRES_SCHEMA_VERSION };
    } finally {
      await client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
      await client.end();
    }
  }

  /**
   * Messages whose receipt state changed after global ack position `after`,
   * ascending: the receipt stream, read by every node's event hub.
   */
  private receiptStatesAfter(after: number, limit: number): Promise<MessageRecord[]> {
    return this.changedAfter(null, after, limit);
  }

  /**
   * Compacts `receipt_log`, the index of the receipt stream (see postgresMigrations): one pass
   * over its rows up to the committed ack position, in steps of 500 rows (each its own short
   * statement), removing every entry no reader can be answered from any more (see
   * `compactChunk`): a message's entries in the rows of the statements that moved it before its
   * last one. Nothing a reader can ask for goes, whatever its position: a node's change feed, or
   * a client resuming from a cursor of last year. After a pass the log holds at most one entry per
   * message with a receipt state (plus what was written during the pass), so it grows with the
   * messages that were read, like `receipt_states`, not with every ack ever made. Safe to run
   * on several nodes at once and beside ack transactions. The store runs it by itself every
   * `receiptLogCompactionMs`; this is for tests and operators.
   */
  async compactReceiptLog(): Promise<ReceiptLogCompaction> {
    const upTo = await this.lastAckSeq();
    const out: ReceiptLogCompaction = { upTo, rows: 0, entries: 0, dropped: 0, shrunk: 0 };
    for (let after = -1; after < upTo && !this.closed; ) {
      const step = await this.compactChunk(after, upTo, COMPACT_CHUNK);
      out.rows += step.rows;
      out.entries += step.entries;
      out.dropped += step.dropped;
      out.shrunk += step.shrunk;
      if (step.cut <= after) break;
      after = step.cut;
    }
    return out;
  }

  /**
   * Checks, a few times per `every` ms (jittered, so nodes do not ask together), whether a
   * compaction pass is due cluster-wide, and runs it if this node claimed it.
   */
  private scheduleCompaction(every: number): void {
    this.compactTimer = setTimeout(
      () => {
        this.compacting = this.compactIfDue(every)
          .catch((err: unknown) => this.options.onError?.(err))
          .finally(() => {
            this.compacting = null;
            if (!this.closed) this.scheduleCompaction(every);
          });
      },
      (every / 4) * (0.5 + Math.random()),
    );
    this.compactTimer.unref();
  }

  /** Runs a pass if the last one, any node's, started `every` ms ago or more (the claim is one row update: one node wins). */
  private async compactIfDue(every: number): Promise<void> {
    const now = Date.now();
    const claimed = await this.rows(
      'rs-claim-compaction',
      `INSERT INTO ${this.tables}.counters AS c (name, value) VALUES ('receipt_log_compacted_at', $1)
        ON CONFLICT (name) DO UPDATE SET value = excluded.value WHERE c.value <= $1::int8 - $2::int8 RETURNING value`,
      [now, every],
    );
    if (claimed.length > 0) await this.compactReceiptLog();
  }

  private async newClient(): Promise<Client> {
    const client = new this.pg.Client({ connectionString: this.options.connectionString, types: int8AsNumber(this.pg) });
    await client.connect();
    return client;
  }

  /**
   * Queues `fn` for this process's next database transaction. One write
   * transaction at a time per process (reads outside transactions run in
   * parallel): ack transactions commit one after another cluster-wide anyway
   * (the ack sequence row), and eight of them open at once, seven waiting on
   * that row with their snapshots held, made each 500-ack batch about 2.5×
   * slower than one at a time. Whatever queued while one ran goes into the
   * next together (group commit): each `fn` after the other on one
   * connection, one COMMIT (one flush of the log) for all, each answered
   * after it.
   */
  private runTransaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (out: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) await this.runGroup(this.queue.splice(0, MAX_GROUP), MAX_ATTEMPTS);
    } finally {
      this.draining = false;
    }
  }

  /** Runs `group` in one transaction; each member is answered (resolved or rejected) or queued again. */
  private async runGroup(group: Queued[], attempts: number): Promise<void> {
    const notes: TxNotes = { ackSeq: 0, messages: new Map(), conversations: new Map(), batches: [], begun: false };
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      for (const q of group) q.reject(err);
      return;
    }
    let broken = false;
    const outs: unknown[] = [];
    let failed: { at: number; err: unknown } | undefined;
    try {
      const tx = new PostgresSession(client, this.txShared, notes);
      for (const q of group) {
        try {
          outs.push(await q.fn(tx));
        } catch (err) {
          failed = { at: outs.length, err };
          throw err;
        }
      }
      // The batch results, the notifications (delivered at commit, in commit order, and only if it
      // commits) and the COMMIT go in one round trip: literals escaped by the driver, no parameters.
      const tail = `${this.batchInserts(client, notes)}${this.notifications(client, notes)}`;
      if (notes.begun) await client.query(`${tail}COMMIT`);
      else if (tail) await client.query(`BEGIN; ${tail}COMMIT`);
    } catch (err) {
      // Whatever failed (a member, or a statement of the commit), the connection goes back clean.
      if (notes.begun) await client.query('ROLLBACK').catch(() => (broken = true));
      client.release(broken);
      if (RETRYABLE.has(String((err as { code?: unknown }).code))) {
        // A deadlock or serialization failure: again, each member alone (a group holds more locks,
        // for longer, than any of its members; alone, the usual retry of one transaction).
        if (group.length > 1) {
          for (const q of group) await this.runGroup([q], MAX_ATTEMPTS);
        } else if (attempts > 1) await this.runGroup(group, attempts - 1);
        else for (const q of group) q.reject(err);
        return;
      }
      if (failed === undefined || group.length === 1) {
        for (const q of group) q.reject(err);
        return;
      }
      // One member failed: it alone is answered with its error; the others (rolled back with it) run again next.
      group[failed.at]!.reject(err);
      this.queue.unshift(...group.filter((_, i) => i !== failed!.at));
      return;
    }
    client.release(broken);
    for (let i = 0; i < group.length; i++) group[i]!.resolve(outs[i]);
  }

  /** INSERTs of the batch results a transaction stored, to precede its COMMIT (the primary key refuses a second one). */
  private batchInserts(client: PoolClient, notes: TxNotes): string {
    return notes.batches
      .map(
        (b) =>
          `INSERT INTO ${this.tables}.batches (user_id, batch_id, result, at) VALUES (${client.escapeLiteral(b.userId)}, ${client.escapeLiteral(b.batchId)}, ${client.escapeLiteral(b.result)}, ${Math.trunc(b.at)}); `,
      )
      .join('');
  }

  /** NOTIFY statements for what a transaction moved (positions only), to precede its COMMIT. */
  private notifications(client: PoolClient, notes: TxNotes): string {
    const payloads: string[] = [];
    if (notes.ackSeq > 0) payloads.push(`r ${notes.ackSeq}`);
    for (const [convId, [from, to]] of notes.messages) payloads.push(`m ${convId} ${from} ${to}`);
    for (const [convId, seq] of notes.conversations) payloads.push(`c ${convId} ${seq}`);
    // A user's own reads: from where their devices read them (the ack sequence), and whether positions moved.
    for (const [userId, u] of notes.users ?? []) {
      // No reads (a position over messages that asked for none): an `after` no read is beyond.
      const after = u.firstAckSeq === Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : u.firstAckSeq - 1;
      payloads.push(`u ${userId} ${after} ${u.positions ? 1 : 0}`);
    }
    for (const userId of notes.settings ?? []) payloads.push(`s ${userId}`);
    const channel = client.escapeIdentifier(this.channel);
    return payloads.map((p) => `NOTIFY ${channel}, ${client.escapeLiteral(p)}; `).join('');
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.compactTimer);
    await this.compacting; // a pass stops after its current step
    await this.pool.end();
  }
}

function checkSchemaName(schema: string): string {
  if (!IDENT.test(schema)) throw new Error(`schema: lower-case letters, digits and _ (at most 41), not ${JSON.stringify(schema)}`);
  return schema;
}

async function loadPg(): Promise<PgModule> {
  try {
    const mod = (await import('pg')) as PgModule & { default?: PgModule };
    return mod.default ?? mod;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') throw new MissingPostgresDriverError();
    throw err;
  }
}

/** bigint columns as JavaScript numbers (every value here is far below 2^53). */
function int8AsNumber(pg: PgModule) {
  return {
    getTypeParser: ((oid: number, format?: string) => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
  };
}

async function schemaVersion(db: Queryable, schema: string): Promise<number> {
  const exists = await db.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`"${schema}".schema_migrations`]);
  if (!exists.rows[0]?.t) return 0;
  const r = await db.query<{ v: number | null }>(`SELECT max(version) AS v FROM "${schema}".schema_migrations`);
  return r.rows[0]?.v ?? 0;
}
