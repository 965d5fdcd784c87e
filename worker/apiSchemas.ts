import * as v from 'valibot';
import { CONV_TYPES, IdSchema, MAX_PAGE_MESSAGES, MemberFilterSchema, MessageIdSchema, MessageTextSchema, SeqSchema, parseArgument } from '../src/protocol';

/** Runtime shape of `SendMessageInput`. The text rules are the server's, so nothing is queued that it would refuse. */
export const SendInputSchema = v.object({
  convId: IdSchema,
  convType: v.optional(v.picklist(CONV_TYPES)),
  text: MessageTextSchema,
  needReadReceipt: v.optional(v.boolean()),
  id: v.optional(MessageIdSchema),
});

/** Runtime shape of `EnvironmentSignal`. */
export const EnvironmentSchema = v.object({ online: v.optional(v.boolean()), visible: v.optional(v.boolean()) });

/** A bearer token as the worker accepts it (init and setToken): opaque, non-empty, bounded. */
export const TokenSchema = v.pipe(v.string(), v.minLength(1, 'a token must be a non-empty string'), v.maxLength(4096));

/** Runtime shape of `SignOutOptions`. */
export const SignOutSchema = v.object({ wipe: v.optional(v.boolean()) });

/** Runtime shape of `MemberPageOptions`. */
export const MemberOptionsSchema = v.object({
  filter: MemberFilterSchema,
  cursor: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(512)))),
  count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  at: v.optional(SeqSchema),
});

const RefSchema = v.union([MessageIdSchema, v.object({ id: MessageIdSchema })]);

/** Messages a sync brings per conversation (the newest); older ones on demand. */
export const DEFAULT_HISTORY_WINDOW = 100;
/** Runtime shape of the `historyWindow` option. */
export const HistoryWindowSchema = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_PAGE_MESSAGES));

/** Runtime shape of `LoadOlderOptions` (`before` as a message ref). */
export const LoadOlderSchema = v.object({
  count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_PAGE_MESSAGES))),
  before: v.optional(RefSchema),
});
const ID_RE = /^[A-Za-z0-9_-]{8,32}$/;

/**
 * The message ids of a `MessageRef[]` argument (ids or objects with an `id`,
 * e.g. whole messages). A plain loop, not a schema parse per item: markRead
 * takes 10,000 refs and sits on the hot path. The first bad item is reported
 * through the schema, so the error says what is wrong and where.
 */
export function parseRefs(refs: unknown, what: string): string[] {
  if (!Array.isArray(refs)) {
    parseArgument(v.array(RefSchema), refs, what);
    return [];
  }
  const ids = new Array<string>(refs.length);
  for (let i = 0; i < refs.length; i++) {
    const r: unknown = refs[i];
    const id = typeof r === 'string' ? r : typeof r === 'object' && r !== null ? (r as { id?: unknown }).id : undefined;
    if (typeof id !== 'string' || !ID_RE.test(id)) parseArgument(RefSchema, r, `${what}: item ${i}`);
    ids[i] = id as string;
  }
  return ids;
}

/** Runtime shape of `MarkConversationReadOptions` (`upTo` as a message ref). */
export const MarkConversationReadSchema = v.object({ upTo: v.optional(RefSchema) });
