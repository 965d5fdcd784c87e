import type { ReadSyncError } from '../../src/protocol';
import { fromErrorPayload, toErrorPayload } from '../../src/protocol';

/**
 * An error as it looks after crossing the wire: only the payload (name, code,
 * message, status, retryAfterMs, details) survives, never the class or stack.
 * Unknown errors become `internal`.
 */
export function wireError(err: unknown): ReadSyncError {
  return fromErrorPayload(structuredClone(toErrorPayload(err)));
}
