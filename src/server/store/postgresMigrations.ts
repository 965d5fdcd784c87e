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
 * - spans PK (conv_id, user_id, joined_seq): membership checks and the
 *   unread-member range (ordered by user_id) of a group;
 *   spans_open (user_id, conv_id) WHERE left_seq IS NULL: a user's conversations.
 * - messages_conv_seq (conv_id, seq): pulling a conversation after a position.
 *   Messages never change once stored; their receipt counters live in
 *   receipt_states, a narrow row per message that has been read, because an
 *   ack batch rewrites the counter row of every message it reads (in
 *   PostgreSQL an update writes a new row version and new entries in every
 *   index of the table: on the message row that was 4 indexes and the text).
 * - receipt_states_sender (sender_id, last_ack_seq): replaying a sender's
 *   receipt changes after a cursor; receipt_states_ack (last_ack_seq): the
 *   receipt stream every node reads after the position it has delivered.
 * - reads PK (message_id, user_id): idempotent acks and the unread anti-join;
 *   reads_order (message_id, ack_seq): read members in ack order.
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
];

/** The schema version this code needs. */
export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]?.version ?? 0;
