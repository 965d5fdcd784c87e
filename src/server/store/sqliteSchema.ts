/**
 * SQLite schema of `SqliteStore` (version 1). Every query of the store is a
 * primary-key lookup or a range read on one of these indexes:
 *
 * - spans PK (conv_id, user_id, joined_seq): membership checks and the
 *   unread-member range (ordered by user_id) of a group.
 * - spans_open (user_id, conv_id) WHERE left_seq IS NULL: a user's conversations.
 * - messages_conv_seq (conv_id, seq): pulling a conversation after a position.
 * - messages_sender_ack (sender_id, last_ack_seq): replaying a sender's receipt
 *   changes after a cursor.
 * - reads PK (message_id, user_id): idempotent acks and the unread anti-join;
 *   reads_order (message_id, ack_seq): read members in ack order;
 *   reads_user (user_id, ack_seq): a user's own reads, for their other devices.
 * - read_positions PK (user_id, conv_id): a user's read position per conversation.
 *
 * - user_settings PK (user_id): a user's receipt mode (public, private).
 * - deliveries PK (message_id, user_id): idempotent deliveries, and the
 *   `delivered` member range (ordered by user_id) of a message.
 *
 * Versions: 1 first; 2 (issue 10) adds reads_user and read_positions; 3
 * (issue 10) adds reads.private and user_settings; 4 (issue 10.5) adds
 * deliveries and messages.delivered_count. Every statement is
 * idempotent, so opening an older database upgrades it; what CREATE cannot
 * add to an existing table is in SQLITE_UPGRADES.
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
export const SQLITE_SCHEMA_VERSION = 4;

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
