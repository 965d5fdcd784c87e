import type { Query } from '../bridge';

/**
 * The canonical key of a query: identical queries (whatever their property
 * order or spelled-out defaults) get the same key and share one worker-side
 * subscription.
 */
export function queryKey(query: Query): string {
  switch (query.kind) {
    case 'read-state':
      return `read-state:${query.messageId}`;
    case 'messages':
      return query.limit === undefined ? `messages:${query.convId}` : `messages:${query.convId}:${query.limit}`;
    case 'conversations':
    case 'sync-status':
    case 'receipts':
      return query.kind;
  }
}

/** Queries whose values are events, not states: a late subscriber must not get an old batch replayed. */
export function isEventQuery(query: Query): boolean {
  return query.kind === 'receipts';
}
