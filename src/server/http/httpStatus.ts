import type { ErrorCode } from '../../protocol';

/** HTTP status of each error code (the same table is in docs/protocol.md). */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  'invalid-argument': 400,
  'bad-payload': 400,
  'unsupported-protocol': 400,
  unauthenticated: 401,
  'wrong-user': 401,
  forbidden: 403,
  'not-member': 403,
  'not-sender': 403,
  'own-message': 403,
  'not-in-audience': 403,
  'not-found': 404,
  'receipt-not-requested': 409,
  'receipts-disabled': 409,
  conflict: 409,
  'payload-too-large': 413,
  'rate-limited': 429,
  internal: 500,
  storage: 500,
  server: 500,
  network: 503,
  closed: 503,
  'worker-failed': 500,
};
