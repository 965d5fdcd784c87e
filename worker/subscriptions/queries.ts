import * as v from 'valibot';
import { IdSchema, MessageIdSchema } from '../../src/protocol';
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
