/**
 * Wire protocol version, sent in every HTTP request (`x-readsync-protocol`) and
 * in the WebSocket `hello` event. A server refuses requests of another major
 * version with `unsupported-protocol`.
 *
 * History:
 * - 1 (2026-11): first version: send/pull messages, ack batches with per-item
 *   results, receipt queries, read/unread member pages with signed cursors,
 *   WebSocket events with a resumable receipt cursor.
 */
export const PROTOCOL_VERSION = 1;
