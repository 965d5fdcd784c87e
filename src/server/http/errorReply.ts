import type { ErrorPayload } from '../../protocol';
import { ReadSyncError } from '../../protocol';
import { HTTP_STATUS } from './httpStatus';

/** An HTTP error reply: status and JSON body `{ name, code, message, status, details? }`. */
export interface HttpErrorReply {
  status: number;
  body: ErrorPayload;
}

/**
 * Maps anything thrown while handling a request to a JSON error reply.
 * Fastify's own errors (body too large, malformed JSON, wrong content type)
 * get readsync codes; anything unexpected is a 500 `internal` that does not
 * leak its message.
 */
export function errorReply(err: unknown): HttpErrorReply {
  if (err instanceof ReadSyncError) {
    const status = err.status ?? HTTP_STATUS[err.code];
    const body: ErrorPayload = { name: err.name, code: err.code, message: err.message, status };
    if (err.details !== undefined) body.details = err.details;
    if (err.retryAfterMs !== undefined) body.retryAfterMs = err.retryAfterMs;
    return { status, body };
  }
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e?.statusCode === 413) {
    return { status: 413, body: { name: 'ValidationError', code: 'payload-too-large', message: 'request body is larger than limits.maxBodyBytes', status: 413 } };
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const message = typeof e.message === 'string' ? e.message.slice(0, 200) : 'bad request';
    return { status: e.statusCode, body: { name: 'ValidationError', code: 'invalid-argument', message, status: e.statusCode } };
  }
  return { status: 500, body: { name: 'ReadSyncError', code: 'internal', message: 'internal server error', status: 500 } };
}
