/**
 * One small error hierarchy shared by client, worker and server. Class identity
 * does not survive Comlink or HTTP, so every error carries a stable `code`;
 * UIs and transports check `code`, never `instanceof` across a boundary.
 */

/** Every error code readsync produces. Stable: part of the public API. */
export const ERROR_CODES = [
  'invalid-argument', // the caller passed something malformed
  'bad-payload', // a peer (server, worker) sent something that fails validation
  'unauthenticated', // missing, malformed or bad bearer token
  'wrong-user', // the token is valid but authenticates another user than the client's
  'forbidden', // authenticated but not allowed (generic)
  'not-member', // not a member of the conversation
  'not-sender', // only the sender may read receipt details / member lists
  'not-found', // unknown message or conversation
  'own-message', // acknowledging one's own message
  'receipt-not-requested', // the message was sent without needReadReceipt
  'receipts-disabled', // group type does not take read receipts
  'not-in-audience', // joined the group after the message was sent
  'conflict', // an id reused with different content
  'payload-too-large',
  'rate-limited',
  'unsupported-protocol',
  'network', // request never got an answer (offline, DNS, reset, timeout)
  'server', // 5xx
  'storage', // IndexedDB failure: quota, closed database, blocked upgrade
  'closed', // the client or worker was closed
  'worker-failed', // the worker did not load, did not answer init in time, or crashed
  'internal',
] as const;
/** Every error code readsync produces. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Codes whose requests are worth retrying unchanged later. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['network', 'server', 'rate-limited']);

/** Plain-object form of an error, for postMessage and JSON bodies. */
export interface ErrorPayload {
  name: string;
  code: ErrorCode;
  message: string;
  /** HTTP status, when the error came from a response. */
  status?: number;
  /** For `rate-limited`: how long the server asked us to wait. */
  retryAfterMs?: number;
  /** Extra machine-readable detail (e.g. the offending field path). */
  details?: unknown;
}

/** Base class of every readsync error. */
export class ReadSyncError extends Error {
  override name = 'ReadSyncError';
  readonly code: ErrorCode;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, extra: { status?: number; retryAfterMs?: number; details?: unknown; cause?: unknown } = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    this.status = extra.status;
    this.retryAfterMs = extra.retryAfterMs;
    this.details = extra.details;
  }

  /** True when the same request may succeed later (network, 5xx, 408, 429). */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }

  toJSON(): ErrorPayload {
    const out: ErrorPayload = { name: this.name, code: this.code, message: this.message };
    if (this.status !== undefined) out.status = this.status;
    if (this.retryAfterMs !== undefined) out.retryAfterMs = this.retryAfterMs;
    if (this.details !== undefined) out.details = this.details;
    return out;
  }
}

/** An API argument is malformed. Thrown before anything is stored. */
export class ValidationError extends ReadSyncError {
  override name = 'ValidationError';
  constructor(message: string, details?: unknown) {
    super('invalid-argument', message, { details });
  }
}

/** A peer sent a payload that fails validation; it was not applied. */
export class ProtocolError extends ReadSyncError {
  override name = 'ProtocolError';
  constructor(message: string, details?: unknown) {
    super('bad-payload', message, { details });
  }
}

/** A rule of the receipt semantics refused the operation (see `code`). */
export class ReceiptRuleError extends ReadSyncError {
  override name = 'ReceiptRuleError';
}

/** Authentication failed. */
export class AuthError extends ReadSyncError {
  override name = 'AuthError';
  constructor(message: string, status = 401) {
    super('unauthenticated', message, { status });
  }
}

/** A request failed in a way that may pass on retry (network, 5xx, 408, 429). */
export class TransientError extends ReadSyncError {
  override name = 'TransientError';
}

/** IndexedDB failed (quota, closed database, blocked upgrade). Stored data is intact. */
export class StorageError extends ReadSyncError {
  override name = 'StorageError';
  constructor(message: string, cause?: unknown) {
    super('storage', message, { cause });
  }
}

/** Turns any error into its plain payload form. Unknown errors become `internal`. */
export function toErrorPayload(err: unknown): ErrorPayload {
  if (err instanceof ReadSyncError) return err.toJSON();
  if (isErrorPayload(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return { name: 'ReadSyncError', code: 'internal', message };
}

/** Rebuilds a `ReadSyncError` from its payload (after postMessage or JSON). */
export function fromErrorPayload(p: ErrorPayload): ReadSyncError {
  const extra: { status?: number; retryAfterMs?: number; details?: unknown } = {};
  if (p.status !== undefined) extra.status = p.status;
  if (p.retryAfterMs !== undefined) extra.retryAfterMs = p.retryAfterMs;
  if (p.details !== undefined) extra.details = p.details;
  const err = new ReadSyncError(p.code, p.message, extra);
  err.name = p.name;
  return err;
}

/** Whether a value looks like an `ErrorPayload` with a known code. */
export function isErrorPayload(x: unknown): x is ErrorPayload {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return typeof o.message === 'string' && typeof o.name === 'string' && (ERROR_CODES as readonly string[]).includes(o.code as string);
}

/** Whether `err` (possibly a payload that crossed a boundary) carries `code`. */
export function hasErrorCode(err: unknown, code: ErrorCode): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
