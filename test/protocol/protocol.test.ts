import { describe, expect, it } from 'vitest';
import {
  AckBatchRequestSchema,
  MessageSchema,
  ReadSyncError,
  ServerEventSchema,
  ValidationError,
  fromErrorPayload,
  hasErrorCode,
  newMessageId,
  parseArgument,
  parsePayload,
  toErrorPayload,
} from '../../src/protocol';

describe('message ids and ack size', () => {
  it('generates distinct 16-char ids that the schema accepts', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newMessageId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9]{16}$/);
  });

  it('keeps one ack under 48 JSON bytes with a realistic timestamp', () => {
    const ack = { m: newMessageId(), t: Date.UTC(2030, 0, 1) };
    const bytes = new TextEncoder().encode(JSON.stringify(ack)).length + 1; // + the comma between items
    expect(bytes).toBeLessThanOrEqual(48);
  });
});

describe('validation', () => {
  it('names the offending field of a bad ack batch', () => {
    const bad = { type: 'ack-batch', batchId: 'batch-0001', acks: [{ m: 'short', t: 1 }] };
    expect(() => parseArgument(AckBatchRequestSchema, bad, 'ack batch')).toThrowError(/acks\.0\.m/);
    try {
      parseArgument(AckBatchRequestSchema, bad, 'ack batch');
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect(hasErrorCode(e, 'invalid-argument')).toBe(true);
    }
  });

  it('refuses empty batches and negative timestamps', () => {
    expect(() => parseArgument(AckBatchRequestSchema, { type: 'ack-batch', batchId: 'batch-0001', acks: [] }, 'x')).toThrow(ValidationError);
    expect(() =>
      parseArgument(AckBatchRequestSchema, { type: 'ack-batch', batchId: 'batch-0001', acks: [{ m: newMessageId(), t: -5 }] }, 'x'),
    ).toThrow(ValidationError);
  });

  it('reports a malformed server payload as bad-payload, not as a caller error', () => {
    const msg = { id: newMessageId(), convId: 'c1', convType: 'group', senderId: 'alice', text: 'hi', needReadReceipt: true, seq: 'x', sentAt: 1, audienceCount: 2 };
    expect(() => parsePayload(MessageSchema, msg, 'message')).toThrowError(expect.objectContaining({ code: 'bad-payload' }));
  });

  it('tells server events apart by type and rejects unknown ones', () => {
    const ev = parsePayload(ServerEventSchema, { type: 'receipts', receipts: [], cursor: 3 }, 'event');
    expect(ev.type).toBe('receipts');
    expect(() => parsePayload(ServerEventSchema, { type: 'bogus' }, 'event')).toThrowError(expect.objectContaining({ code: 'bad-payload' }));
  });
});

describe('errors across boundaries', () => {
  it('round-trips code, status and retryAfter through a plain payload', () => {
    const err = new ReadSyncError('rate-limited', 'slow down', { status: 429, retryAfterMs: 2000 });
    const back = fromErrorPayload(JSON.parse(JSON.stringify(toErrorPayload(err))));
    expect(back).toBeInstanceOf(ReadSyncError);
    expect(back.code).toBe('rate-limited');
    expect(back.status).toBe(429);
    expect(back.retryAfterMs).toBe(2000);
    expect(back.retryable).toBe(true);
  });

  it('classifies permanent errors as not retryable and unknown throws as internal', () => {
    expect(new ReadSyncError('not-member', 'no').retryable).toBe(false);
    expect(toErrorPayload(new TypeError('boom'))).toMatchObject({ code: 'internal', message: 'boom' });
  });
});
