/**
 * The statement that sets readers' bits: `readers` selects (m: message id,
 * ord: the reader's ordinal), one row per public read; each becomes its
 * chunk's row with one bit set, OR'ed into the stored one.
 */
export const READ_BITS_SET = (readers: string): string => `INSERT INTO read_bits (message_id, chunk, bits)
  SELECT m, ord >> 6, 1 << (ord & 63) FROM (${readers}) WHERE true
  ON CONFLICT (message_id, chunk) DO UPDATE SET bits = bits | excluded.bits`;

/**
 * SQLite schema of `SqliteStore` (version 1). Every query of the store is a
 * primary-key lookup or a range read on one of these indexes:
 *
 * - spans PK (conv_id, user_id, joined_seq): membership checks (an UNREAD
 *   walk checks its candidates here).
 * - spans_open (user_id, conv_id) WHERE left_seq IS NULL: a user's conversations.
 * - messages_conv_seq (conv_id, seq): pulling a conversation after a position.
 * - messages_sender_ack (sender_id, last_ack_seq): replaying a sender's receipt
 *   changes after a cursor.
 * - reads PK (message_id, user_id): idempotent acks;
 *   reads_order (message_id, ack_seq): read members in ack order;
 *   reads_user (user_id, ack_seq): a user's own reads, for their other devices.
 * - read_positions PK (user_id, conv_id): a user's read position per conversation.
 *
 * - user_settings PK (user_id): a user's receipt mode (public, private).
 * - deliveries PK (message_id, user_id): idempotent deliveries, and the
 *   `delivered` member range (ordered by user_id) of a message.
 * - member_ordinals PK (conv_id, ordinal): each member's ordinal in a
 *   conversation (0, 1, … in first-join order, kept when they leave and come
 *   back), the user of an ordinal; member_ordinals_user (conv_id, user_id):
 *   a user's ordinal; member_ordinals_seq (conv_id, first_seq, ordinal): the
 *   highest ordinal given before a position (a message's audience bound).
 * - read_bits PK (message_id, chunk): a message's reader bitmap, 64
 *   ordinals a row (bits: a signed 64-bit integer, bit i = ordinal 64c + i,
 *   -1 when all read; no row: none read), OR'ed in with each public read by
 *   SQLite's own integer operators (READ_BITS_SET), which costs an ack next
 *   to nothing (a blob OR'ed by JavaScript SQL functions cost 6.5 µs per
 *   ack, 32 integer columns 4 µs). The UNREAD member walk steps over full
 *   rows inside SQLite (bits <> -1) and counts rows to find missing ones,
 *   instead of stepping over readers (issue 14).
 *
 * Versions: 1 first; 2 (issue 10) adds reads_user and read_positions; 3
 * (issue 10) adds reads.private and user_settings; 4 (issue 10.5) adds
 * deliveries and messages.delivered_count; 5 (issue 14) adds member_ordinals
 * and read_bits, filled from spans and reads (SQLITE_BACKFILLS). Every
 * statement is idempotent, so opening an older database upgrades it; what
 * CREATE cannot add to an existing table is in SQLITE_UPGRADES.
 */
export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  group_type TEXT,
  name TEXT NOT NULL,
  user_a TEXT,
  user_b TEXT,
  seq INTEGER NOT NULL,
  member_count INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS spans (
  conv_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  joined_seq INTEGER NOT NULL,
  left_seq INTEGER,
  PRIMARY KEY (conv_id, user_id, joined_seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS spans_open ON spans (user_id, conv_id) WHERE left_seq IS NULL;

CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY,
  conv_id TEXT NOT NULL,
  conv_type TEXT NOT NULL,
  sender_id TEXT NOT NULL,
  text TEXT NOT NULL,
  need_receipt INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  sent_at INTEGER NOT NULL,
  audience_count INTEGER NOT NULL,
  read_count INTEGER NOT NULL,
  last_read_at INTEGER NOT NULL,
  last_ack_seq INTEGER NOT NULL,
  delivered_count INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_conv_seq ON messages (conv_id, seq);
CREATE INDEX IF NOT EXISTS messages_sender_ack ON messages (sender_id, last_ack_seq);

CREATE TABLE IF NOT EXISTS reads (
  message_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  read_at INTEGER NOT NULL,
  ack_seq INTEGER NOT NULL,
  private INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (message_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reads_order ON reads (message_id, ack_seq);
CREATE INDEX IF NOT EXISTS reads_user ON reads (user_id, ack_seq);

CREATE TABLE IF NOT EXISTS deliveries (
  message_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  ack_seq INTEGER NOT NULL,
  PRIMARY KEY (message_id, user_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS member_ordinals (
  conv_id TEXT NOT NULL,
  ordinal INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  PRIMARY KEY (conv_id, ordinal)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS member_ordinals_user ON member_ordinals (conv_id, user_id);
CREATE INDEX IF NOT EXISTS member_ordinals_seq ON member_ordinals (conv_id, first_seq, ordinal);

CREATE TABLE IF NOT EXISTS read_bits (
  message_id TEXT NOT NULL,
  chunk INTEGER NOT NULL,
  bits INTEGER NOT NULL,
  PRIMARY KEY (message_id, chunk)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS user_settings (
  user_id TEXT PRIMARY KEY,
  receipts TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS read_positions (
  user_id TEXT NOT NULL,
  conv_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  read_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, conv_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS batches (
  user_id TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  result TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (user_id, batch_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS batches_at ON batches (at);

-- Small counters, e.g. the global ack sequence (numbers may be handed out and left unused).
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;


`;

/** The schema version SQLITE_SCHEMA and SQLITE_UPGRADES bring a database to. */
export const SQLITE_SCHEMA_VERSION = 5;

/**
 * Tables filled from what the database already holds when a database of an
 * older version (`user_version` below `version`) is opened, in the same
 * transaction as the version bump. Each is idempotent (a fresh database has
 * nothing to fill).
 */
export const SQLITE_BACKFILLS: { version: number; sql: string }[] = [
  {
    version: 5,
    // Ordinals in first-join order; members who joined at one position (a group created with
    // them) in user_id order, since the order they were given in was not kept. Then one bit per
    // public read.
    sql: `INSERT OR IGNORE INTO member_ordinals (conv_id, ordinal, user_id, first_seq)
        SELECT conv_id, (SELECT COALESCE(MAX(ordinal), -1) FROM member_ordinals o WHERE o.conv_id = f.conv_id)
            + ROW_NUMBER() OVER (PARTITION BY conv_id ORDER BY first_seq, user_id), user_id, first_seq
          FROM (SELECT conv_id, user_id, MIN(joined_seq) AS first_seq FROM spans s
                WHERE NOT EXISTS (SELECT 1 FROM member_ordinals o WHERE o.conv_id = s.conv_id AND o.user_id = s.user_id)
                GROUP BY conv_id, user_id) f;
      ${READ_BITS_SET('SELECT r.message_id AS m, o.ordinal AS ord FROM reads r JOIN messages m ON m.id = r.message_id JOIN member_ordinals o ON o.conv_id = m.conv_id AND o.user_id = r.user_id WHERE r.private = 0')};`,
  },
];

/**
 * Columns added to existing tables, by the version that added them: applied
 * when missing, then `backfill` (same transaction) fills them from what the
 * database already holds.
 */
export const SQLITE_UPGRADES: { table: string; column: string; sql: string; backfill?: string }[] = [
  { table: 'reads', column: 'private', sql: 'ALTER TABLE reads ADD COLUMN private INTEGER NOT NULL DEFAULT 0' },
  {
    table: 'messages',
    column: 'delivered_count',
    sql: 'ALTER TABLE messages ADD COLUMN delivered_count INTEGER NOT NULL DEFAULT 0',
    // Every public read so far implies its delivery.
    backfill: `INSERT OR IGNORE INTO deliveries (message_id, user_id, ack_seq) SELECT message_id, user_id, ack_seq FROM reads WHERE private = 0;
      UPDATE messages SET delivered_count = (SELECT COUNT(*) FROM deliveries d WHERE d.message_id = messages.id)
        WHERE id IN (SELECT message_id FROM deliveries);`,
  },
];
