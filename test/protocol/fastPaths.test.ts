import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { AckBatchResponseSchema, ReceiptsEventSchema, fastAckBatchResponse, fastReceiptsEvent } from '../../src/protocol';
import { holdToSchema } from '../support/holdToSchema';

/** Mutates a payload in place: 0-2 changes at the top level or in one item of `list`. */
function mutate(raw: Record<string, unknown>, list: string, rand: () => number, top: Record<string, unknown[]>, itemFields: string[], odd: unknown[]): void {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const topKeys = Object.keys(top);
  for (let k = Math.floor(rand() * 3); k > 0; k--) {
    const where = rand();
    if (where < 0.25) {
      const key = pick(topKeys);
      raw[key] = pick(top[key]!);
    } else if (Array.isArray(raw[list]) && (raw[list] as unknown[]).length > 0) {
      const items = raw[list] as unknown[];
      const i = Math.floor(rand() * items.length);
      if (rand() < 0.1) items[i] = pick(odd);
      else if (typeof items[i] === 'object' && items[i] !== null) (items[i] as Record<string, unknown>)[pick(itemFields)] = pick(odd);
    }
  }
}

const receipt = (i: number) => ({
  convId: i % 3 ? 'team' : 'c2c:alice:bob',
  convType: i % 3 ? 'group' : 'c2c',
  messageId: `msg${String(i).padStart(8, '0')}`,
  timestamp: 1_700_000_000_000 + i,
  isPeerRead: i % 2 === 0,
  readCount: i % 5,
  unreadCount: 4 - (i % 5),
  // From servers announcing `delivery` (issue 10.5); absent from older ones.
  ...(i % 4 === 3 ? {} : { deliveredCount: (i % 5) + (i % 2) }),
});

const result = (i: number) =>
  i % 3 === 2 ? { m: `msg${String(i).padStart(8, '0')}`, s: 'rejected', r: 'not-member' } : { m: `msg${String(i).padStart(8, '0')}`, s: i % 3 ? 'duplicate' : 'accepted' };

/** Values that break one rule or another (and some that are fine). */
const ODD: unknown[] = [
  undefined, null, '', 'x', 'bad id!', 'a'.repeat(65), 'short', 'msg_ok_00001', -1, 1.5, NaN, Infinity, 8.64e15 + 1, 0, 7,
  true, false, [], {}, 'group', 'c2c', 'channel', 2 ** 53, 'accepted', 'rejected', 'not-member', 'bogus',
];

describe('fastReceiptsEvent: the same rules as ReceiptsEventSchema', () => {
  it('accepts valid events and outputs exactly what the schema outputs (unknown keys dropped)', () => {
    const raw = { type: 'receipts', cursor: 42, receipts: [receipt(1), { ...receipt(2), extra: 'dropped' }, receipt(3)], more: true };
    expect(fastReceiptsEvent(raw)).not.toBeNull();
    expect(fastReceiptsEvent(raw)).toEqual(v.parse(ReceiptsEventSchema, raw));
  });

  it('never accepts what the schema refuses, and agrees on output whenever it accepts (2,000 mutated events)', () => {
    holdToSchema(ReceiptsEventSchema, fastReceiptsEvent, (seed, rand) => {
      const receipts = Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, i) => receipt(i + seed));
      const raw: Record<string, unknown> = { type: 'receipts', cursor: seed, receipts };
      const top = { type: ['receipts', 'messages', 3, undefined], cursor: ODD, receipts: [null, {}, 'x', []] };
      mutate(raw, 'receipts', rand, top, ['convId', 'convType', 'messageId', 'timestamp', 'isPeerRead', 'readCount', 'unreadCount', 'deliveredCount', 'extra'], ODD);
      return raw;
    });
  });
});

describe('fastAckBatchResponse: the same rules as AckBatchResponseSchema', () => {
  it('accepts valid answers and outputs exactly what the schema outputs', () => {
    const raw = { type: 'ack-batch-result', batchId: 'a0123456789abcdef', results: [result(0), result(1), { ...result(2), extra: 1 }] };
    expect(fastAckBatchResponse(raw)).not.toBeNull();
    expect(fastAckBatchResponse(raw)).toEqual(v.parse(AckBatchResponseSchema, raw));
  });

  it('never accepts what the schema refuses, and agrees on output whenever it accepts (2,000 mutated answers)', () => {
    // An `r` key present with the value undefined (not JSON) is left to the schema.
    const jsonShaped = (raw: unknown) => !JSON.stringify(raw, (_k, x: unknown) => (x === undefined ? '__undefined__' : x)).includes('"r":"__undefined__"');
    holdToSchema(
      AckBatchResponseSchema,
      fastAckBatchResponse,
      (seed, rand) => {
        const results = Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, i) => result(i + seed));
        const raw: Record<string, unknown> = { type: 'ack-batch-result', batchId: `batch_${seed}_xyz`, results };
        const top = { type: ['ack-batch-result', 'ack-batch', undefined], batchId: ['short', 'x'.repeat(65), 'ok_batch_id_1', 7, null], results: [null, {}, 'x', []] };
        mutate(raw, 'results', rand, top, ['m', 's', 'r', 'x'], ODD);
        return raw;
      },
      jsonShaped,
    );
  });
});
