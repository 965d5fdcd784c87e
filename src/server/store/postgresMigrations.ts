/**
 * Versioned schema of `PostgresStore`. Each migration runs once, in order, in
 * its own transaction, recorded in `<schema>.schema_migrations`; never edit
 * one that has shipped, add the next. `readsync-server --pg <url> --migrate`
 * (or `PostgresStore.migrate`) applies what is missing; a node refuses to
 * start on a schema older or newer than it knows.
 *
 * Every query of the store is a primary-key lookup or a range read on one of
 * these indexes (ids sort in code-unit order: COLLATE "C"):
 *
 * - spans PK (conv_id, user_id, joined_seq): membership checks (and, before v6, the
 *   unread-member range ordered by user_id; an UNREAD walk now checks its candidates here);
 *   spans_open (user_id, conv_id) WHERE left_seq IS NULL: a user's conversations.
 * - messages_conv_seq (conv_id, seq): pulling a conversation after a position.
 *   Messages never change once stored; their receipt counters live in
 *   receipt_states, a narrow row per message that has been read, because an
 *   ack batch rewrites the counter row of every message it reads (in
 *   PostgreSQL an update writes a new row version and new entries in every
 *   index of the table: on the message row that was 4 indexes and the text).
 *   Since version 2 no index covers a column an ack changes, so those updates
 *   are HOT (in place on the page, no index entry written).
 * - receipt_log PK (pos, sender_id): the receipt stream every node reads after
 *   the position it has delivered; receipt_log_sender (sender_id, pos):
 *   replaying a sender's receipt changes after a cursor. One row per ack
 *   statement and sender: `pos` is the highest ack position of the statement,
 *   `message_ids` the sender's messages it moved. (Version 1 had two indexes
 *   on receipt_states.last_ack_seq instead.) Only a message's entry in the row
 *   of the statement that last moved it is ever read (its last_ack_seq <= pos);
 *   `PostgresStore.compactReceiptLog` removes the others, hourly by default, so
 *   the log keeps about one entry per message with a receipt state instead of
 *   one per counted ack, and no cursor, however old, loses a change.
 * - reads PK (message_id, user_id): idempotent acks (and, before v6, the unread anti-join);
 *   reads_order (message_id, ack_seq): read members in ack order;
 *   reads_user (user_id, ack_seq): a user's own reads, for their other devices (v3).
 * - read_positions PK (user_id, conv_id): a user's read position per conversation (v3).
 * - reads.private: a private read, never counted or listed (v4); user_settings PK (user_id):
 *   a user's receipt mode (v4).
 * - deliveries PK (message_id, user_id): idempotent deliveries and the delivered-unread
 *   member range (ordered by user_id) of a message (v5); receipt_states.delivered_count: its
 *   counter, next to read_count and like it not indexed, so delivery acks stay HOT (v5).
 * - member_ordinals PK (conv_id, ordinal): each member's ordinal in a conversation (0, 1, … in
 *   first-join order, kept when they leave and come back); member_ordinals_user (conv_id, user_id):
 *   a user's ordinal; member_ordinals_seq (conv_id, first_seq, ordinal): the highest ordinal given
 *   before a position, a message's audience bound (v6).
 * - read_bits PK (message_id, chunk): a message's reader bitmap, bit(1024) a row (bit i of chunk c
 *   is ordinal 1024c + i; no row: none read), set with each public read in the statement that
 *   inserts it: the UNREAD member walk reads the chunks (98 rows at 100,000 members) instead of
 *   stepping over readers (v6, issue 14).
 * - batches PK (user_id, batch_id): ack batch results for idempotent replays.
 * - counters ('ack_seq'): the global ack sequence; the row is the lock that
 *   orders ack transactions, so positions are committed in order.
 */
export interface Migration {
  version: number;
  description: string;
  /** SQL with `{s}` standing for the quoted schema name. */
  sql: string;
}

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'conversations, membership spans, messages, receipt states, reads, batch results, counters',
    sql: `
CREATE TABLE {s}.conversations (
  id text COLLATE "C" PRIMARY KEY,
  type text NOT NULL,
  group_type text,
  name text NOT NULL,
  user_a text COLLATE "C",
  user_b text COLLATE "C",
  seq bigint NOT NULL,
  member_count integer NOT NULL,
  created_at bigint NOT NULL
);

CREATE TABLE {s}.spans (
  conv_id text COLLATE "C" NOT NULL,
  user_id text COLLATE "C" NOT NULL,
  joined_seq bigint NOT NULL,
  left_seq bigint,
  PRIMARY KEY (conv_id, user_id, joined_seq)
);
CREATE INDEX spans_open ON {s}.spans (user_id, conv_id) WHERE left_seq IS NULL;

CREATE TABLE {s}.messages (
  id text COLLATE "C" PRIMARY KEY,
  conv_id text COLLATE "C" NOT NULL,
  conv_type text NOT NULL,
  sender_id text COLLATE "C" NOT NULL,
  text text NOT NULL,
  need_receipt boolean NOT NULL,
  seq bigint NOT NULL,
  sent_at bigint NOT NULL,
  audience_count integer NOT NULL
);
CREATE UNIQUE INDEX messages_conv_seq ON {s}.messages (conv_id, seq);

CREATE TABLE {s}.receipt_states (
  message_id text COLLATE "C" PRIMARY KEY,
  sender_id text COLLATE "C" NOT NULL,
  read_count integer NOT NULL,
  last_read_at bigint NOT NULL,
  last_ack_seq bigint NOT NULL
) WITH (fillfactor = 70);
CREATE INDEX receipt_states_sender ON {s}.receipt_states (sender_id, last_ack_seq);
CREATE INDEX receipt_states_ack ON {s}.receipt_states (last_ack_seq);

CREATE TABLE {s}.reads (
  message_id text COLLATE "C" NOT NULL,
  user_id text COLLATE "C" NOT NULL,
  read_at bigint NOT NULL,
  ack_seq bigint NOT NULL,
  PRIMARY KEY (message_id, user_id)
);
CREATE INDEX reads_order ON {s}.reads (message_id, ack_seq);

CREATE TABLE {s}.batches (
  user_id text COLLATE "C" NOT NULL,
  batch_id text COLLATE "C" NOT NULL,
  result text NOT NULL,
  at bigint NOT NULL,
  PRIMARY KEY (user_id, batch_id)
);
CREATE INDEX batches_at ON {s}.batches (at);

CREATE TABLE {s}.counters (
  name text PRIMARY KEY,
  value bigint NOT NULL
);
INSERT INTO {s}.counters (name, value) VALUES ('ack_seq', 0);
`,
  },
  {
    version: 2,
    description: 'receipt log: receipt state updates become HOT (no index on the moving columns)',
    // Every ack batch rewrites the receipt state of each message it reads. With last_ack_seq in two
    // indexes, each of those updates wrote a new entry in all three of the table's indexes (and left
    // dead ones behind that the next lookup of the same message walks); with no index on a column
    // it changes, PostgreSQL updates the row in place on its page (a HOT update: no index entry at
    // all), which halved the cost of the counter statement. What the two indexes answered (the
    // receipt stream after a position, a sender's changes after a cursor) is answered from
    // receipt_log instead: one row per ack statement and sender, not one index entry per message.
    // Existing states are carried over as one log row each, at their own position.
    sql: `
CREATE TABLE {s}.receipt_log (
  pos bigint NOT NULL,
  sender_id text COLLATE "C" NOT NULL,
  message_ids text[] NOT NULL,
  PRIMARY KEY (pos, sender_id)
);
CREATE INDEX receipt_log_sender ON {s}.receipt_log (sender_id, pos);
INSERT INTO {s}.receipt_log (pos, sender_id, message_ids)
  SELECT last_ack_seq, sender_id, array_agg(message_id) FROM {s}.receipt_states GROUP BY last_ack_seq, sender_id;
DROP INDEX {s}.receipt_states_sender;
DROP INDEX {s}.receipt_states_ack;
`,
  },
  {
    version: 3,
    description: 'read state of a user: own reads by user, read positions (issue 10)',
    sql: `
CREATE INDEX reads_user ON {s}.reads (user_id, ack_seq);

CREATE TABLE {s}.read_positions (
  user_id text COLLATE "C" NOT NULL,
  conv_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  read_at bigint NOT NULL,
  PRIMARY KEY (user_id, conv_id)
);
`,
  },
  {
    version: 4,
    description: 'private reads and user settings (issue 10)',
    sql: `
ALTER TABLE {s}.reads ADD COLUMN private boolean NOT NULL DEFAULT false;

CREATE TABLE {s}.user_settings (
  user_id text COLLATE "C" PRIMARY KEY,
  receipts text NOT NULL
);
`,
  },
  {
    version: 5,
    description: 'deliveries and the delivered count (issue 10.5)',
    // The delivered count lives beside read_count in receipt_states, not on the message row: every
    // member's delivery moves it, and the message row is wide (its text) with two indexes and no
    // free space on its page, so each of those updates would write new index entries (the cost
    // version 2 took off read_count). Adding a column with a constant default rewrites nothing
    // (PostgreSQL 11+). Every public read so far implies its delivery, so those become delivery
    // rows and their states count them (as SQLite's version 4 does): one pass over reads, once.
    // Private reads do not (their sender would learn when they were read).
    sql: `
CREATE TABLE {s}.deliveries (
  message_id text COLLATE "C" NOT NULL,
  user_id text COLLATE "C" NOT NULL,
  ack_seq bigint NOT NULL,
  PRIMARY KEY (message_id, user_id)
);

ALTER TABLE {s}.receipt_states ADD COLUMN delivered_count integer NOT NULL DEFAULT 0;

INSERT INTO {s}.deliveries (message_id, user_id, ack_seq)
  SELECT message_id, user_id, ack_seq FROM {s}.reads WHERE NOT private
  ON CONFLICT DO NOTHING;
UPDATE {s}.receipt_states rs SET delivered_count = d.n
  FROM (SELECT message_id, count(*)::integer AS n FROM {s}.deliveries GROUP BY message_id) d
  WHERE rs.message_id = d.message_id;
`,
  },
  {
    version: 6,
    description: 'member ordinals and reader bitmaps: UNREAD member pages without a step per reader (issue 14)',
    // Ordinals of existing members in first-join order (members who joined at one position, e.g.
    // a group created with them, in user_id order: the order they were given in was not kept),
    // then one bit per public read so far.
    sql: `
CREATE TABLE {s}.member_ordinals (
  conv_id text COLLATE "C" NOT NULL,
  ordinal integer NOT NULL,
  user_id text COLLATE "C" NOT NULL,
  first_seq bigint NOT NULL,
  PRIMARY KEY (conv_id, ordinal)
);
CREATE UNIQUE INDEX member_ordinals_user ON {s}.member_ordinals (conv_id, user_id) INCLUDE (ordinal);
CREATE INDEX member_ordinals_seq ON {s}.member_ordinals (conv_id, first_seq, ordinal);

CREATE TABLE {s}.read_bits (
  message_id text COLLATE "C" NOT NULL,
  chunk integer NOT NULL,
  bits bit(1024) NOT NULL,
  PRIMARY KEY (message_id, chunk)
);

INSERT INTO {s}.member_ordinals (conv_id, ordinal, user_id, first_seq)
  SELECT conv_id, (row_number() OVER (PARTITION BY conv_id ORDER BY first_seq, user_id) - 1)::integer, user_id, first_seq
    FROM (SELECT conv_id, user_id, min(joined_seq) AS first_seq FROM {s}.spans GROUP BY conv_id, user_id) f;

INSERT INTO {s}.read_bits (message_id, chunk, bits)
  SELECT r.message_id, o.ordinal >> 10, bit_or(set_bit(repeat('0', 1024)::bit(1024), o.ordinal & 1023, 1))
    FROM {s}.reads r JOIN {s}.messages m ON m.id = r.message_id
      JOIN {s}.member_ordinals o ON o.conv_id = m.conv_id AND o.user_id = r.user_id
    WHERE NOT r.private
    GROUP BY r.message_id, o.ordinal >> 10;
`,
  },
];

/** The schema version this code needs. */
export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]?.version ?? 0;
