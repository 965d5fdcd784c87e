import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { AckBatchResponseSchema, ReceiptsEventSchema, fastAckBatchResponse, fastReceiptsEvent } from '../../src/protocol';

/** mulberry32: a small seeded PRNG, so a failure names its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const receipt = (i: number) => ({
  convId: i % 3 ? 'team' : 'c2c:alice:bob',
  convType: i % 3 ? 'group' : 'c2c',
  messageId: `msg${String(i).padStart(8, '0')}`,
  timestamp: 1_700_000_000_000 + i,
  isPeerRead: i % 2 === 0,
  readCount: i % 5,
  unreadCount: 4 - (i % 5),
});

/** Values that break one rule or another (and some that are fine). */
const ODD: unknown[] = [
  undefined, null, '', 'x', 'bad id!', 'a'.repeat(65), 'short', 'msg_ok_00001', -1, 1.5, NaN, Infinity, 8.64e15 + 1, 0, 7,
  true, false, [], {}, 'group', 'c2c', 'channel', 2 ** 53,
];
const FIELDS = ['convId', 'convType', 'messageId', 'timestamp', 'isPeerRead', 'readCount', 'unreadCount', 'extra'];

describe('fastReceiptsEvent: the same rules as ReceiptsEventSchema', () => {
  it('accepts valid events and outputs exactly what the schema outputs (unknown keys dropped)', () => {
    const raw = { type: 'receipts', cursor: 42, receipts: [receipt(1), { ...receipt(2), extra: 'dropped' }, receipt(3)], more: true };
    const fast = fastReceiptsEvent(raw);
    expect(fast).not.toBeNull();
    expect(fast).toEqual(v.parse(ReceiptsEventSchema, raw));
  });

  it('never accepts what the schema refuses, and agrees on output whenever it accepts (2,000 mutated events)', () => {
    let accepted = 0;
    let refusedBySchema = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const rand = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const receipts: unknown[] = Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, i) => ({ ...receipt(i + seed) }));
      const raw: Record<string, unknown> = { type: 'receipts', cursor: seed, receipts };
      const mutations = Math.floor(rand() * 3);
      for (let k = 0; k < mutations; k++) {
        const where = rand();
        if (where < 0.1) raw.type = pick(['receipts', 'messages', 3, undefined]);
        else if (where < 0.2) raw.cursor = pick(ODD);
        else if (where < 0.25) raw.receipts = pick([null, {}, 'x', []]);
        else if (Array.isArray(raw.receipts) && raw.receipts.length > 0) {
          const list = raw.receipts as unknown[];
          const i = Math.floor(rand() * list.length);
          if (rand() < 0.1) list[i] = pick(ODD);
          else if (typeof list[i] === 'object' && list[i] !== null) (list[i] as Record<string, unknown>)[pick(FIELDS)] = pick(ODD);
        }
      }
      const schema = v.safeParse(ReceiptsEventSchema, raw);
      const fast = fastReceiptsEvent(raw);
      if (!schema.success) refusedBySchema++;
      if (fast !== null) {
        accepted++;
        expect(schema.success, `seed ${seed}: fast path accepted what the schema refuses: ${JSON.stringify(raw)}`).toBe(true);
        expect(fast, `seed ${seed}`).toEqual(schema.output);
      } else if (schema.success) {
        throw new Error(`seed ${seed}: a valid event missed the fast path: ${JSON.stringify(raw)}`);
      }
    }
    // Both sides of the comparison were exercised.
    expect(accepted).toBeGreaterThan(200);
    expect(refusedBySchema).toBeGreaterThan(200);
  });
});

describe('fastAckBatchResponse: the same rules as AckBatchResponseSchema', () => {
  const result = (i: number) =>
    i % 3 === 2 ? { m: `msg${String(i).padStart(8, '0')}`, s: 'rejected', r: 'not-member' } : { m: `msg${String(i).padStart(8, '0')}`, s: i % 3 ? 'duplicate' : 'accepted' };
  const ODD_RESULT_VALUES: unknown[] = [undefined, null, '', 'accepted', 'rejected', 'not-member', 'bogus', 'bad id!', 'msg_ok_00001', 3, {}, []];

  it('accepts valid answers and outputs exactly what the schema outputs', () => {
    const raw = { type: 'ack-batch-result', batchId: 'a0123456789abcdef', results: [result(0), result(1), { ...result(2), extra: 1 }] };
    const fast = fastAckBatchResponse(raw);
    expect(fast).not.toBeNull();
    expect(fast).toEqual(v.parse(AckBatchResponseSchema, raw));
  });

  it('never accepts what the schema refuses, and agrees on output whenever it accepts (2,000 mutated answers)', () => {
    let accepted = 0;
    let refusedBySchema = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const rand = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const results: unknown[] = Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, i) => ({ ...result(i + seed) }));
      const raw: Record<string, unknown> = { type: 'ack-batch-result', batchId: `batch_${seed}_xyz`, results };
      for (let k = Math.floor(rand() * 3); k > 0; k--) {
        const where = rand();
        if (where < 0.1) raw.type = pick(['ack-batch-result', 'ack-batch', undefined]);
        else if (where < 0.2) raw.batchId = pick(['short', 'x'.repeat(65), 'ok_batch_id_1', 7, null]);
        else if (where < 0.25) raw.results = pick([null, {}, 'x', []]);
        else if (Array.isArray(raw.results) && raw.results.length > 0) {
          const list = raw.results as unknown[];
          const i = Math.floor(rand() * list.length);
          if (rand() < 0.1) list[i] = pick(ODD_RESULT_VALUES);
          else if (typeof list[i] === 'object' && list[i] !== null) (list[i] as Record<string, unknown>)[pick(['m', 's', 'r', 'x'])] = pick(ODD_RESULT_VALUES);
        }
      }
      const schema = v.safeParse(AckBatchResponseSchema, raw);
      const fast = fastAckBatchResponse(raw);
      if (!schema.success) refusedBySchema++;
      if (fast !== null) {
        accepted++;
        expect(schema.success, `seed ${seed}: fast path accepted what the schema refuses: ${JSON.stringify(raw)}`).toBe(true);
        expect(fast, `seed ${seed}`).toEqual(schema.output);
      } else if (schema.success && !(Array.isArray(raw.results) && raw.results.some((r) => typeof r === 'object' && r !== null && 'r' in r && (r as { r: unknown }).r === undefined))) {
        throw new Error(`seed ${seed}: a valid answer missed the fast path: ${JSON.stringify(raw)}`);
      }
    }
    expect(accepted).toBeGreaterThan(200);
    expect(refusedBySchema).toBeGreaterThan(200);
  });
});
