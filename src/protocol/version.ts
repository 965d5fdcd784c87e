/**
 * Wire protocol version, sent in every HTTP request (`x-readsync-protocol`) and
 * in the WebSocket `hello` event. A server refuses requests of another major
 * version with `unsupported-protocol`.
 *
 * History:
 * - 1 (2026-11): first version: send/pull messages, ack batches with per-item
 *   results, receipt queries, read/unread member pages with signed cursors,
 *   WebSocket events with a resumable receipt cursor.
 *   Later additions within 1 (optional, ignored by older peers):
 *   `pull-messages.sinceEntries`, positions of ids named after
 *   `Object.prototype` properties as `[id, seq]` pairs (issue 8);
 *   `pull-messages.newest` with `pull-messages-result.skipped` (the newest
 *   window of each conversation first) and `POST /v1/history`
 *   (`history-query`: older messages on demand) (issue 11).
 */
export const PROTOCOL_VERSION = 1;
