/**
 * Wire messages between clients and the sync server, told apart by `type`.
 * HTTP bodies and WebSocket frames are exactly these objects as JSON.
 * See docs/protocol.md for the routes and an example of each.
 */
import * as v from 'valibot';
import {
  ConversationSchema,
  IdSchema,
  MemberFilterSchema,
  MessageIdSchema,
  MessageReceiptSchema,
  MessageSchema,
  MessageTextSchema,
  ReadMemberPageSchema,
  SeqSchema,
  ServerConfigSchema,
  TimestampSchema,
} from './entities';

/** Per-item outcome codes used in batch results. */
export const ITEM_STATUSES = ['accepted', 'duplicate', 'rejected'] as const;
export const ItemStatusSchema = v.picklist(ITEM_STATUSES);

/** Reason codes for a rejected item; a subset of `ErrorCode`. */
export const REJECT_REASONS = [
  'not-found',
  'not-member',
  'not-sender',
  'own-message',
  'receipt-not-requested',
  'receipts-disabled',
  'not-in-audience',
  'conflict',
  'invalid-argument',
] as const;
export const RejectReasonSchema = v.picklist(REJECT_REASONS);
/** Reason code for a rejected item. */
export type RejectReason = v.InferOutput<typeof RejectReasonSchema>;

const BatchIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,64}$/, 'batchId must be 8-64 chars of [A-Za-z0-9_-]'));

// ---- send messages -------------------------------------------------------

/** A message as a client submits it. `id` is client-chosen: a resend with the same id is recognised. */
export const OutgoingMessageSchema = v.object({
  id: MessageIdSchema,
  convId: IdSchema,
  /** Well-formed: a lone surrogate is refused with `invalid-argument` (it could not be stored unchanged). */
  text: MessageTextSchema,
  needReadReceipt: v.boolean(),
  /** Client clock when the user pressed send. */
  createdAt: TimestampSchema,
});
export type OutgoingMessage = v.InferOutput<typeof OutgoingMessageSchema>;

/** POST /v1/messages. Messages of one conversation are stored in array order. */
export const SendMessagesRequestSchema = v.object({
  type: v.literal('send-messages'),
  messages: v.pipe(v.array(OutgoingMessageSchema), v.minLength(1)),
});
export type SendMessagesRequest = v.InferOutput<typeof SendMessagesRequestSchema>;

/** Result of one submitted message; `message` is set unless rejected. */
export const SendResultSchema = v.object({
  id: MessageIdSchema,
  status: ItemStatusSchema,
  message: v.optional(MessageSchema),
  reason: v.optional(RejectReasonSchema),
});
export type SendResult = v.InferOutput<typeof SendResultSchema>;

export const SendMessagesResponseSchema = v.object({
  type: v.literal('send-messages-result'),
  results: v.array(SendResultSchema),
});
export type SendMessagesResponse = v.InferOutput<typeof SendMessagesResponseSchema>;

// ---- my read state (issue 10) ------------------------------------------------

/** What a server supporting read positions (watermarks) announces in `ServerConfig.features`. */
export const FEATURE_READ_POSITIONS = 'read-positions';

/** `[convId, seq, readAt]`: everything up to position `seq` of the conversation read at `readAt`. */
export const ReadPositionTupleSchema = v.tuple([IdSchema, SeqSchema, TimestampSchema]);
/** `[convId, seq, readAt]`: a read position. */
export type ReadPositionTuple = v.InferOutput<typeof ReadPositionTupleSchema>;

/** My own reads, from any of my devices, as `[messageId, readAt]`, oldest first. */
export const MyReadsSchema = v.object({
  reads: v.array(v.tuple([MessageIdSchema, TimestampSchema])),
  /** Position of the global ack sequence these reads reach: pass it as the next `myReadsAfter`. */
  cursor: SeqSchema,
  /** More reads remain after `cursor`: pull again. */
  hasMore: v.boolean(),
});
/** My own reads, from any of my devices. */
export type MyReads = v.InferOutput<typeof MyReadsSchema>;

/** Whether the user's reads tell senders (`public`, the default) or only the user's own devices (`private`). */
export const ReceiptModeSchema = v.picklist(['public', 'private']);
export type ReceiptMode = v.InferOutput<typeof ReceiptModeSchema>;

/** A user's settings, kept on the server and synced to all their devices. */
export const UserSettingsSchema = v.object({ receipts: ReceiptModeSchema });
export type UserSettings = v.InferOutput<typeof UserSettingsSchema>;

/**
 * POST /v1/settings (issue 10; servers announcing `read-positions`): changes
 * the given settings (none: only reads them) and answers the settings now.
 * The user's connected devices get a `settings` event.
 */
export const SettingsRequestSchema = v.object({ type: v.literal('settings'), receipts: v.optional(ReceiptModeSchema) });
export type SettingsRequest = v.InferOutput<typeof SettingsRequestSchema>;
export const SettingsResponseSchema = v.object({ type: v.literal('settings-result'), settings: UserSettingsSchema });
export type SettingsResponse = v.InferOutput<typeof SettingsResponseSchema>;

// ---- pull messages -------------------------------------------------------

/**
 * Conversation ids that never travel as keys of `since`: the property names of
 * JavaScript's `Object.prototype`, and `prototype`. As object keys they are
 * dropped (valibot's `v.record` strips `__proto__`, `constructor` and
 * `prototype`), refused (Fastify's JSON parser answers a `__proto__` key with
 * 400), turned into a prototype (`obj['__proto__'] = n`), or read back as an
 * inherited function by a naive `since[id]`. They are valid ids all the same.
 */
export const PROTOTYPE_NAME_IDS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toString',
  'toLocaleString',
  'valueOf',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
]);

/** Most messages a pull or history page carries (`limit`, `newest`, `count`). */
export const MAX_PAGE_MESSAGES = 1000;
const PageSizeSchema = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_PAGE_MESSAGES));

/**
 * POST /v1/pull: the user's conversations, and messages after each one's
 * position (0 when absent). Positions travel in `since` (id → seq), except
 * for ids in `PROTOTYPE_NAME_IDS`, which travel as `[id, seq]` pairs in
 * `sinceEntries` (added later in v1; a server that predates it ignores it and
 * pulls those conversations from 0). Build with `pullRequest`, read with
 * `pullPositions`: never index `since` directly.
 *
 * `newest` (added later in v1, issue 11): per conversation, only the newest
 * `newest` messages after the position; the older ones are skipped and
 * reported in the response's `skipped` (fetch them with `history-query`).
 * A server that predates it sends them all.
 */
export const PullMessagesRequestSchema = v.object({
  type: v.literal('pull-messages'),
  since: v.record(IdSchema, SeqSchema),
  sinceEntries: v.optional(v.array(v.tuple([IdSchema, SeqSchema]))),
  limit: v.optional(PageSizeSchema),
  newest: v.optional(PageSizeSchema),
  /**
   * (Added later in v1, issue 10; servers announcing `read-positions`.) My own
   * reads made after this position of the global ack sequence, from any of
   * my devices, come back in `myReads`. Absent: `myReads` starts at the
   * server's current position (a fresh device learns older reads from the
   * `readAt` of each message it pulls).
   */
  myReadsAfter: v.optional(SeqSchema),
});
export type PullMessagesRequest = v.InferOutput<typeof PullMessagesRequestSchema>;

/** A pull request for these positions (conversation id → seq), each id where every v1 server can read it. */
export function pullRequest(positions: ReadonlyMap<string, number>, limit?: number, newest?: number): PullMessagesRequest {
  // Null prototype: an own `__proto__` or `constructor` key could never be inherited or swallowed here.
  const since = Object.create(null) as Record<string, number>;
  const sinceEntries: [string, number][] = [];
  for (const [id, seq] of positions) {
    if (PROTOTYPE_NAME_IDS.has(id)) sinceEntries.push([id, seq]);
    else since[id] = seq;
  }
  const req: PullMessagesRequest = { type: 'pull-messages', since };
  if (sinceEntries.length > 0) req.sinceEntries = sinceEntries;
  if (limit !== undefined) req.limit = limit;
  if (newest !== undefined) req.newest = newest;
  return req;
}

/** The positions of a (validated) pull request: `since`'s own entries, then `sinceEntries`, which win. */
export function pullPositions(req: Pick<PullMessagesRequest, 'since' | 'sinceEntries'>): Map<string, number> {
  const positions = new Map<string, number>(Object.entries(req.since));
  for (const [id, seq] of req.sinceEntries ?? []) positions.set(id, seq);
  return positions;
}

export const PullMessagesResponseSchema = v.object({
  type: v.literal('pull-messages-result'),
  conversations: v.array(ConversationSchema),
  /** Ordered by (convId, seq). */
  messages: v.array(MessageSchema),
  /** More messages remain: pull again with the new positions. */
  hasMore: v.boolean(),
  /**
   * `[convId, seq]`: the request's `newest` left out this conversation's
   * messages after its position up to and including `seq`; those returned
   * start after `seq`. Absent when nothing was skipped.
   */
  skipped: v.optional(v.array(v.tuple([IdSchema, SeqSchema]))),
  /**
   * (Issue 10.) My read position in each of my conversations that has one:
   * `[convId, seq, readAt]`, everything up to `seq` read at `readAt`.
   */
  readPositions: v.optional(v.array(ReadPositionTupleSchema)),
  /** (Issue 10.) My reads after the request's `myReadsAfter`, oldest first. */
  myReads: v.optional(MyReadsSchema),
  /** (Issue 10.) My settings. */
  settings: v.optional(UserSettingsSchema),
});
export type PullMessagesResponse = v.InferOutput<typeof PullMessagesResponseSchema>;

// ---- history -----------------------------------------------------------------

/**
 * POST /v1/history (added later in v1, issue 11): the newest `count`
 * messages of a conversation before position `before` (before the end when
 * absent or null), for current members. How a client pages back through a
 * long history, or fetches the newest window of one conversation.
 */
export const HistoryQueryRequestSchema = v.object({
  type: v.literal('history-query'),
  convId: IdSchema,
  before: v.optional(v.nullable(v.pipe(SeqSchema, v.minValue(1)))),
  count: PageSizeSchema,
});
export type HistoryQueryRequest = v.InferOutput<typeof HistoryQueryRequestSchema>;

export const HistoryQueryResponseSchema = v.object({
  type: v.literal('history-result'),
  convId: IdSchema,
  /** Ascending by `seq`; at most `count` (a server may cap it lower). */
  messages: v.array(MessageSchema),
  /** Older messages exist before the first one returned (or before `before` when none was). */
  hasOlder: v.boolean(),
});
export type HistoryQueryResponse = v.InferOutput<typeof HistoryQueryResponseSchema>;

// ---- acks ------------------------------------------------------------------

/** One read acknowledgement. Short keys: an ack is at most 48 JSON bytes. */
export const AckSchema = v.object({
  /** Message id. */
  m: MessageIdSchema,
  /** When the user read it (client clock at markRead). */
  t: TimestampSchema,
  /**
   * (Added later in v1, issue 10; servers announcing `read-positions`.) 1: a
   * private read, made while the reader's receipts were private. Stored for
   * the reader's own devices; never counted, listed or told to the sender.
   */
  p: v.optional(v.literal(1)),
});
export type Ack = v.InferOutput<typeof AckSchema>;

/**
 * A read position sent by a client (issue 10, `markConversationRead`): I have
 * read conversation `c` up to position `s`, at `t`. Messages from others in
 * that range that asked for receipts count as read by me, once each, at `t`.
 */
export const ReadPositionSchema = v.object({
  c: IdSchema,
  s: v.pipe(SeqSchema, v.minValue(1)),
  t: TimestampSchema,
  /** 1: private (the reads it implies are private, see `Ack.p`). */
  p: v.optional(v.literal(1)),
});
export type ReadPosition = v.InferOutput<typeof ReadPositionSchema>;

/** What a server that counts deliveries (issue 10.5) announces in `ServerConfig.features`. */
export const FEATURE_DELIVERY = 'delivery';

/**
 * A delivery range sent by a client (issue 10.5): my device has stored the
 * messages of conversation `c` in positions (`f`, `s`]. Messages from others
 * in that range that asked for receipts and had me in their audience count as
 * delivered to me, once each whatever device or batch says it again. A read
 * implies delivery, so readers never need one.
 */
export const DeliveryRangeSchema = v.pipe(
  v.object({ c: IdSchema, f: SeqSchema, s: v.pipe(SeqSchema, v.minValue(1)) }),
  v.check((d) => d.f < d.s, 'a delivery range (f, s] needs f < s'),
);
export type DeliveryRange = v.InferOutput<typeof DeliveryRangeSchema>;

/** Most delivery ranges in one ack batch. */
export const MAX_DELIVERIES_PER_BATCH = 100;

/**
 * POST /v1/acks. `batchId` is an idempotency key: a replayed batch returns the
 * first result. `positions` (added later in v1, issue 10) only goes to a
 * server announcing `read-positions`, `deliveries` (issue 10.5) only to one
 * announcing `delivery` (an older one would drop them); a batch carries at
 * least one ack, position or delivery range.
 */
export const AckBatchRequestSchema = v.pipe(
  v.object({
    type: v.literal('ack-batch'),
    batchId: BatchIdSchema,
    acks: v.array(AckSchema),
    positions: v.optional(v.array(ReadPositionSchema)),
    deliveries: v.optional(v.array(DeliveryRangeSchema)),
  }),
  v.check((r) => r.acks.length + (r.positions?.length ?? 0) + (r.deliveries?.length ?? 0) > 0, 'an ack batch carries at least one ack, position or delivery range'),
);
export type AckBatchRequest = v.InferOutput<typeof AckBatchRequestSchema>;

/** Per-ack result: `s` status, `r` reason when rejected. Same order as the request. */
export const AckResultSchema = v.object({ m: MessageIdSchema, s: ItemStatusSchema, r: v.optional(RejectReasonSchema) });
export type AckResult = v.InferOutput<typeof AckResultSchema>;

/**
 * Per-position result, in request order: `accepted` (my position moved to
 * `u`), `duplicate` (it already was at `u` ≥ the one sent), `rejected` with
 * `r` (`not-found`, `not-member`). `u` is my stored position after the batch.
 */
export const PositionResultSchema = v.object({ c: IdSchema, s: ItemStatusSchema, u: v.optional(SeqSchema), r: v.optional(RejectReasonSchema) });
export type PositionResult = v.InferOutput<typeof PositionResultSchema>;

/**
 * Per-delivery-range result, in request order: `accepted` (`n` messages of the
 * range counted as delivered to me for the first time, possibly 0) or
 * `rejected` with `r` (`not-found`, `not-member`).
 */
export const DeliveryResultSchema = v.object({ c: IdSchema, s: ItemStatusSchema, n: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))), r: v.optional(RejectReasonSchema) });
export type DeliveryResult = v.InferOutput<typeof DeliveryResultSchema>;

export const AckBatchResponseSchema = v.object({
  type: v.literal('ack-batch-result'),
  batchId: BatchIdSchema,
  results: v.array(AckResultSchema),
  /** Present when the request carried `positions`. */
  positions: v.optional(v.array(PositionResultSchema)),
  /** Present when the request carried `deliveries`. */
  deliveries: v.optional(v.array(DeliveryResultSchema)),
});
export type AckBatchResponse = v.InferOutput<typeof AckBatchResponseSchema>;

// ---- receipts and members ------------------------------------------------------

/** POST /v1/receipts: the current receipt state of the caller's own messages. */
export const ReceiptQueryRequestSchema = v.object({
  type: v.literal('receipt-query'),
  messageIds: v.pipe(v.array(MessageIdSchema), v.minLength(1)),
});
export type ReceiptQueryRequest = v.InferOutput<typeof ReceiptQueryRequestSchema>;

export const ReceiptQueryResponseSchema = v.object({
  type: v.literal('receipt-query-result'),
  receipts: v.array(MessageReceiptSchema),
  rejected: v.array(v.object({ m: MessageIdSchema, r: RejectReasonSchema })),
});
export type ReceiptQueryResponse = v.InferOutput<typeof ReceiptQueryResponseSchema>;

/** POST /v1/members: one page of a group message's read or unread members (sender only). */
export const MemberPageRequestSchema = v.object({
  type: v.literal('member-page'),
  messageId: MessageIdSchema,
  filter: MemberFilterSchema,
  cursor: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(512)))),
  count: v.pipe(v.number(), v.integer(), v.minValue(1)),
  /**
   * (Added later in v1, issue 10.) Start the walk at this snapshot (a page's
   * `at`, typically of the other filter's walk). Absent: the snapshot is taken
   * now. A cursor carries its walk's snapshot; `at` is then ignored.
   */
  at: v.optional(SeqSchema),
});
export type MemberPageRequest = v.InferOutput<typeof MemberPageRequestSchema>;

export const MemberPageResponseSchema = v.object({
  type: v.literal('member-page-result'),
  page: ReadMemberPageSchema,
});
export type MemberPageResponse = v.InferOutput<typeof MemberPageResponseSchema>;

// ---- server events (WebSocket) -------------------------------------------------

/** First frame on a connection. */
export const HelloEventSchema = v.object({
  type: v.literal('hello'),
  protocolVersion: v.pipe(v.number(), v.integer()),
  userId: IdSchema,
  config: ServerConfigSchema,
  /**
   * The server's receipt cursor when the stream opened. A client that had no
   * cursor (connected with no `since`) resumes from it; one that passed `since`
   * keeps its own until the replay that follows hello has delivered newer ones.
   */
  cursor: v.optional(SeqSchema),
});
/** New messages in the user's conversations (their own from other devices included). */
export const MessagesEventSchema = v.object({ type: v.literal('messages'), messages: v.array(MessageSchema) });
/**
 * Receipt state of the user's own messages, coalesced per message. `cursor`
 * is a resume point: reconnect with `?since=<cursor>` to get every update
 * after it (absolute states, so replays are harmless).
 */
export const ReceiptsEventSchema = v.object({
  type: v.literal('receipts'),
  receipts: v.array(MessageReceiptSchema),
  cursor: SeqSchema,
});
/** A conversation the user belongs to was created or changed (membership, name). */
export const ConversationEventSchema = v.object({ type: v.literal('conversation'), conversation: ConversationSchema });
/**
 * (Issue 10.) Reads I made on one of my devices, sent to all of them: my new
 * reads `[messageId, readAt]` and my moved read positions `[convId, seq, readAt]`.
 * A device that was not connected gets them with its next pull (`myReadsAfter`,
 * `readPositions`).
 */
export const MyReadsEventSchema = v.object({
  type: v.literal('my-reads'),
  reads: v.array(v.tuple([MessageIdSchema, TimestampSchema])),
  positions: v.array(ReadPositionTupleSchema),
});

/** (Issue 10.) My settings changed (on any of my devices). */
export const SettingsEventSchema = v.object({ type: v.literal('settings'), settings: UserSettingsSchema });

export const ServerEventSchema = v.variant('type', [HelloEventSchema, MessagesEventSchema, ReceiptsEventSchema, ConversationEventSchema, MyReadsEventSchema, SettingsEventSchema]);
/** Any server-to-client event. */
export type ServerEvent = v.InferOutput<typeof ServerEventSchema>;
export type HelloEvent = v.InferOutput<typeof HelloEventSchema>;
export type MessagesEvent = v.InferOutput<typeof MessagesEventSchema>;
export type ReceiptsEvent = v.InferOutput<typeof ReceiptsEventSchema>;
export type ConversationEvent = v.InferOutput<typeof ConversationEventSchema>;
export type MyReadsEvent = v.InferOutput<typeof MyReadsEventSchema>;
export type SettingsEvent = v.InferOutput<typeof SettingsEventSchema>;

export { BatchIdSchema };
