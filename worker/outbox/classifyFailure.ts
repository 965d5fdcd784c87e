import type { ErrorCode, ErrorPayload } from '../../src/protocol';

/**
 * What the flusher does after a failed request or step:
 * - 'retry': later, with backoff; the queue is intact (network, 5xx, 408,
 *   429, a malformed reply, a storage hiccup, an unexpected local error).
 * - 'reject': the server refused the request for good; its items leave the
 *   queue as visibly rejected, so they never block the rest.
 * - 'halt': refused for a reason that is not the items' fault and that no
 *   amount of retrying fixes by itself (bad token, protocol too old, closed):
 *   keep every item and wait for a signal or the slow timer.
 */
export type FailureKind = 'retry' | 'reject' | 'halt';

const RETRY: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'network',
  'server',
  'rate-limited',
  // The reply failed validation: the server (or a proxy) is misbehaving, not our items.
  'bad-payload',
  'storage',
  'internal',
]);
const HALT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['unauthenticated', 'wrong-user', 'unsupported-protocol', 'closed']);
/** Whole-request refusals that one bad item can cause. */
const SPLITTABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['invalid-argument', 'payload-too-large']);

/** Classifies a failure; see `FailureKind`. */
export function classifyFailure(error: ErrorPayload): FailureKind {
  const status = error.status;
  if (status !== undefined && (status === 408 || status === 429 || status >= 500)) return 'retry';
  if (RETRY.has(error.code)) return 'retry';
  if (HALT.has(error.code)) return 'halt';
  return 'reject';
}

/** Whether halving the batch may isolate the item that caused `error`. */
export function isSplittable(error: ErrorPayload): boolean {
  return SPLITTABLE.has(error.code);
}
