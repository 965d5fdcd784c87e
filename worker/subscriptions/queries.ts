import * as v from 'valibot';
import { IdSchema, MessageIdSchema, isMessageId, parseArgument } from '../../src/protocol';
import type { Query } from '../../src/bridge';

/** Default and maximum `limit` of a `messages` query. */
export const DEFAULT_MESSAGES_LIMIT = 100;
export const MAX_MESSAGES_LIMIT = 10_000;

/** Runtime shape of a `Query` (it arrives from the UI thread). */
export const QuerySchema = v.variant('kind', [
  v.object({ kind: v.literal('read-state'), messageId: MessageIdSchema }),
  v.object({
    kind: v.literal('messages'),
    convId: IdSchema,
    limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_MESSAGES_LIMIT))),
  }),
  v.object({ kind: v.literal('conversations') }),
  v.object({ kind: v.literal('sync-status') }),
  v.object({ kind: v.literal('receipts') }),
]);

/** Runtime shape of a `subscribe` argument. */
export const SubscribeArgsSchema = v.array(
  v.object({ id: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER)), query: QuerySchema }),
);

/**
 * `subscribe`'s argument, checked by hand when every entry is a `read-state`
 * query (the hot case: one per message on screen, 10,000 at once in a long
 * list, where the schema took 15-70 ms of the worker's time). The same rules
 * as `SubscribeArgsSchema`, written out; anything else goes through the
 * schema, which parses it or says what is wrong. A test holds the two together.
 */
export function parseSubscribeArgs(raw: unknown): v.InferOutput<typeof SubscribeArgsSchema> {
  return fastReadStateSubscribeArgs(raw) ?? parseArgument(SubscribeArgsSchema, raw, 'subscribe');
}

/** The fast half of `parseSubscribeArgs`: the parsed list, or null for "ask the schema". */
export function fastReadStateSubscribeArgs(raw: unknown): v.InferOutput<typeof SubscribeArgsSchema> | null {
  if (!Array.isArray(raw)) return null;
  const out: v.InferOutput<typeof SubscribeArgsSchema> = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const x: unknown = raw[i];
    if (typeof x !== 'object' || x === null || Array.isArray(x)) return null;
    const { id, query } = x as Record<string, unknown>;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > Number.MAX_SAFE_INTEGER) return null;
    if (typeof query !== 'object' || query === null || Array.isArray(query)) return null;
    const { kind, messageId } = query as Record<string, unknown>;
    if (kind !== 'read-state' || !isMessageId(messageId)) return null;
    out[i] = { id, query: { kind, messageId } };
  }
  return out;
}

/** Runtime shape of an `unsubscribe` argument. */
export const UnsubscribeArgsSchema = v.array(v.number());

/**
 * Canonical key of a query: queries with the same key share one worker-side
 * query. Defaults are spelled out so `{convId}` and `{convId, limit: 100}`
 * are one query.
 */
export function queryKey(q: Query): string {
  switch (q.kind) {
    case 'read-state':
      return `read-state:${q.messageId}`;
    case 'messages':
      return `messages:${q.convId}:${q.limit ?? DEFAULT_MESSAGES_LIMIT}`;
    default:
      return q.kind;
  }
}
