import { createHmac, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../../protocol';

/**
 * Opaque, tamper-evident cursors: base64url(JSON) + "." + truncated
 * HMAC-SHA256. The server keeps no cursor state; a client that edits one gets
 * `invalid-argument` instead of someone else's page.
 */
export function signCursor(secret: string, payload: unknown): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${mac(secret, body)}`;
}

/** Verifies and decodes a cursor made by `signCursor`; throws `ValidationError` if it was altered. */
export function verifyCursor(secret: string, cursor: string): unknown {
  const dot = cursor.indexOf('.');
  const body = dot > 0 ? cursor.slice(0, dot) : '';
  const given = Buffer.from(dot > 0 ? cursor.slice(dot + 1) : '', 'base64url');
  const expected = Buffer.from(mac(secret, body), 'base64url');
  if (!body || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ValidationError('cursor: invalid or tampered cursor');
  }
  try {
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
  } catch {
    throw new ValidationError('cursor: invalid or tampered cursor');
  }
}

function mac(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest().subarray(0, 18).toString('base64url');
}
