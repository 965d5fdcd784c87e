import * as v from 'valibot';

/** Conversation kinds: one-to-one ("c2c") or group. */
export const CONV_TYPES = ['c2c', 'group'] as const;
/** A conversation kind. */
export type ConvType = (typeof CONV_TYPES)[number];

/** Group kinds, after the seed SDK's group types. */
export const GROUP_TYPES = ['work', 'public', 'meeting', 'community', 'avchatroom'] as const;
/** A group kind. */
export type GroupType = (typeof GROUP_TYPES)[number];

/** Group kinds that take read receipts unless the server is configured otherwise. */
export const DEFAULT_RECEIPT_GROUP_TYPES: readonly GroupType[] = ['work', 'public', 'meeting'];

/** Longest message text, in UTF-16 code units. */
export const MAX_TEXT_LENGTH = 4000;

/** A UTF-16 surrogate that is not half of a pair (with the `u` flag, a pair is one astral code point and does not match). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Text a client sends: at most `MAX_TEXT_LENGTH` UTF-16 units, and
 * well-formed (no lone surrogate). A lone surrogate cannot be stored or sent
 * as UTF-8: SQLite and JSON encoders turn it into U+FFFD, so the stored text
 * would differ from the sent one and a resend of the same message would be
 * answered `conflict`. (A regex, not `String.prototype.isWellFormed`: that is
 * missing from Safari before 16.4 and Firefox before 119.)
 */
export const MessageTextSchema = v.pipe(
  v.string(),
  v.maxLength(MAX_TEXT_LENGTH),
  v.check((s) => !LONE_SURROGATE.test(s), 'must be well-formed UTF-16 (no lone surrogate)'),
);

/** User and conversation ids: short, URL-safe, no whitespace (ASCII only, so always well-formed). */
export const IdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:@-]{1,64}$/, 'must be 1-64 chars of [A-Za-z0-9_.:@-]'));
/** Message ids are chosen by the sending client (see `newMessageId`) and kept short: they are on every ack. */
export const MessageIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,32}$/, 'must be 8-32 chars of [A-Za-z0-9_-]'));
/** Milliseconds since the epoch. */
export const TimestampSchema = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(8.64e15));
/** Position in a conversation's sequence (messages and membership changes share it). */
export const SeqSchema = v.pipe(v.number(), v.integer(), v.minValue(0));

export const ConvTypeSchema = v.picklist(CONV_TYPES);
export const GroupTypeSchema = v.picklist(GROUP_TYPES);

/** A message as stored by the server and delivered to members. */
export const MessageSchema = v.object({
  id: MessageIdSchema,
  convId: IdSchema,
  convType: ConvTypeSchema,
  senderId: IdSchema,
  /**
   * Not `MessageTextSchema`: what a server delivers is taken as it is. One
   * ill-formed text from an older or foreign server must not make every pull
   * that contains it fail validation (clients store and show it; U+FFFD at worst).
   */
  text: v.pipe(v.string(), v.maxLength(MAX_TEXT_LENGTH)),
  needReadReceipt: v.boolean(),
  /** Position in the conversation, assigned by the server. */
  seq: SeqSchema,
  /** Server time of acceptance. */
  sentAt: TimestampSchema,
  /** Number of members who can read it: members at send time minus the sender. */
  audienceCount: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /**
   * (Added later in v1, issue 10.) When I read it, on any of my devices, if I
   * have: set on the messages a pull or history page returns to their reader.
   */
  readAt: v.optional(TimestampSchema),
});
/** A message as stored by the server and delivered to members. */
export type Message = v.InferOutput<typeof MessageSchema>;

/** A conversation the user belongs to. Member lists are paged separately, never inlined. */
export const ConversationSchema = v.object({
  id: IdSchema,
  type: ConvTypeSchema,
  /** Set for groups only. */
  groupType: v.optional(GroupTypeSchema),
  name: v.pipe(v.string(), v.maxLength(200)),
  memberCount: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** Whether messages here may request read receipts (always true for c2c). */
  receiptsEnabled: v.boolean(),
  /** Highest sequence position used so far. */
  seq: SeqSchema,
});
/** A conversation the user belongs to. */
export type Conversation = v.InferOutput<typeof ConversationSchema>;

/** Receipt state of one message, as its sender sees it (the seed's `MessageReceipt`). */
export const MessageReceiptSchema = v.object({
  convId: IdSchema,
  convType: ConvTypeSchema,
  messageId: MessageIdSchema,
  /** Time of the latest read that this state includes (0 when nobody has read it). */
  timestamp: TimestampSchema,
  /** c2c: the peer has read it. For groups: true once everybody in the audience has. */
  isPeerRead: v.boolean(),
  readCount: v.pipe(v.number(), v.integer(), v.minValue(0)),
  unreadCount: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /**
   * (Added later in v1, issue 10.5; servers announcing `delivery`.) Members of
   * the audience whose devices have stored the message, readers included (a
   * read implies delivery), so `readCount <= deliveredCount <= readCount +
   * unreadCount`. c2c: 1 once the peer's device has it ("Delivered"). Absent
   * from older servers: take it as `readCount`.
   */
  deliveredCount: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
});
/** Receipt state of one message, as its sender sees it. */
export type MessageReceipt = v.InferOutput<typeof MessageReceiptSchema>;

/**
 * Member-list filter of `getReadMembers`: `read`, `unread`, or (added later in
 * v1, issue 10.5; servers announcing `delivery`) `delivered`: the unread
 * members whose devices have the message (a subset of `unread`).
 */
export const MemberFilterSchema = v.picklist(['read', 'unread', 'delivered']);
/** Member-list filter of `getReadMembers`. */
export type MemberFilter = v.InferOutput<typeof MemberFilterSchema>;

/** One entry of a member page. `readAt` is set for the `read` filter. */
export const ReadMemberSchema = v.object({ userId: IdSchema, readAt: v.optional(TimestampSchema) });
/** One entry of a member page. */
export type ReadMember = v.InferOutput<typeof ReadMemberSchema>;

/** A page of the read or unread members of one group message. */
export const ReadMemberPageSchema = v.object({
  members: v.array(ReadMemberSchema),
  /** Opaque; pass back to get the next page. Null when finished. */
  nextCursor: v.nullable(v.pipe(v.string(), v.maxLength(512))),
  isFinished: v.boolean(),
  /**
   * (Added later in v1, issue 10.) The snapshot this walk shows: reads up to
   * this position of the global ack sequence. A walk of the other filter
   * started with it (`at`) shows the same snapshot, so the two lists together
   * are the audience exactly, with nobody in both.
   */
  at: v.optional(SeqSchema),
});
/** A page of the read or unread members of one group message. */
export type ReadMemberPage = v.InferOutput<typeof ReadMemberPageSchema>;

/** Wire limits a server announces; clients size their batches from these. */
export const LimitsSchema = v.object({
  maxAckBatch: v.pipe(v.number(), v.integer(), v.minValue(1)),
  maxMessageBatch: v.pipe(v.number(), v.integer(), v.minValue(1)),
  maxReceiptQuery: v.pipe(v.number(), v.integer(), v.minValue(1)),
  maxMemberPage: v.pipe(v.number(), v.integer(), v.minValue(1)),
  maxBodyBytes: v.pipe(v.number(), v.integer(), v.minValue(1024)),
});
/** Wire limits a server announces. */
export type Limits = v.InferOutput<typeof LimitsSchema>;

/** Defaults of the reference server. 500 acks of ≤ 48 bytes stay far below the body limit. */
export const DEFAULT_LIMITS: Limits = {
  maxAckBatch: 500,
  maxMessageBatch: 100,
  maxReceiptQuery: 500,
  maxMemberPage: 100,
  maxBodyBytes: 256 * 1024,
};

/** What a server announces to its clients. */
export const ServerConfigSchema = v.object({
  protocolVersion: v.pipe(v.number(), v.integer()),
  receiptGroupTypes: v.array(GroupTypeSchema),
  limits: LimitsSchema,
  /**
   * (Added later in v1.) Optional capabilities: `read-positions` (issue 10:
   * read positions in ack batches, my reads in pulls and `my-reads` events),
   * `delivery` (issue 10.5: delivery ranges in ack batches, `deliveredCount`
   * in receipts, the `delivered` member filter). Absent on servers that
   * predate them.
   */
  features: v.optional(v.array(v.pipe(v.string(), v.maxLength(64)))),
});
/** What a server announces to its clients. */
export type ServerConfig = v.InferOutput<typeof ServerConfigSchema>;

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A new random message id: 16 base62 chars (~95 bits), short enough to keep an ack under 48 JSON bytes. */
export function newMessageId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let id = '';
  for (const b of bytes) id += ID_ALPHABET[b % 62];
  return id;
}
