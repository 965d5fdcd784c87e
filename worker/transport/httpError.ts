import type { ErrorCode, ReadSyncError } from '../../src/protocol';
import { TransientError, fromErrorPayload, isErrorPayload } from '../../src/protocol';

/** Parses a Retry-After header (delta seconds or an HTTP date) into ms; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const FALLBACK_CODE: Record<number, ErrorCode> = {
  400: 'invalid-argument',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'invalid-argument',
};

/**
 * Maps a non-2xx response to the retry classes of the outbox: 5xx and 408 are
 * `server` and 429 is `rate-limited` (both retryable, with `retryAfterMs`
 * from Retry-After); any other 4xx is permanent and keeps the code from the
 * JSON body (`{ name, code, message }`).
 */
export function httpError(status: number, bodyText: string, retryAfter: string | null): ReadSyncError {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    body = undefined;
  }
  const payload = isErrorPayload(body) ? body : undefined;
  const message = payload?.message ?? `HTTP ${status}`;
  const retryAfterMs = parseRetryAfter(retryAfter);
  const extra = retryAfterMs === undefined ? { status } : { status, retryAfterMs };
  if (status === 429) return new TransientError('rate-limited', message, extra);
  if (status >= 500 || status === 408) return new TransientError('server', message, extra);
  if (payload) return fromErrorPayload({ ...payload, status });
  return fromErrorPayload({ name: 'ReadSyncError', code: FALLBACK_CODE[status] ?? 'bad-payload', message, status });
}
