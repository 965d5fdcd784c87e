/**
 * The worker's hand-written check of `subscribe` arguments made only of
 * `read-state` queries (the hot case) holds to `SubscribeArgsSchema`: it
 * accepts only what the schema accepts, outputs what the schema outputs, and
 * accepts every valid all-read-state list.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { SubscribeArgsSchema, fastReadStateSubscribeArgs, parseSubscribeArgs } from '../../worker/subscriptions/queries';
import { ValidationError } from '../../src/protocol';
import { holdToSchema } from '../support/holdToSchema';

const entry = (i: number) => ({ id: i, query: { kind: 'read-state', messageId: `msg${String(i).padStart(8, '0')}` } });

const ODD: unknown[] = [
  undefined, null, '', 'x', 'bad id!', 'a'.repeat(33), 'short', 'msg_ok_00001', -1, -0, 1.5, NaN, Infinity, 2 ** 53, 0, 7,
  true, [], {}, 'read-state', 'messages', 'conversations', { kind: 'conversations' }, { kind: 'messages', convId: 'team' },
  { kind: 'read-state' }, { kind: 'read-state', messageId: 'msg_ok_00001', extra: 1 },
];

describe('parseSubscribeArgs: the read-state fast path', () => {
  it('accepts a list of read-state queries and outputs what the schema outputs (unknown keys dropped)', () => {
    const raw = [entry(1), { ...entry(2), extra: true }, { id: 3, query: { ...entry(3).query, also: 1 } }];
    expect(fastReadStateSubscribeArgs(raw)).not.toBeNull();
    expect(fastReadStateSubscribeArgs(raw)).toEqual(v.parse(SubscribeArgsSchema, raw));
  });

  it('leaves any other query to the schema, which parses it or explains what is wrong', () => {
    const mixed = [entry(1), { id: 2, query: { kind: 'conversations' } }];
    expect(fastReadStateSubscribeArgs(mixed)).toBeNull();
    expect(parseSubscribeArgs(mixed)).toEqual(v.parse(SubscribeArgsSchema, mixed));
    expect(() => parseSubscribeArgs([entry(1), { id: 2, query: { kind: 'read-state', messageId: 'bad id!' } }])).toThrow(ValidationError);
    expect(() => parseSubscribeArgs([entry(1), { id: 2, query: { kind: 'read-state', messageId: 'bad id!' } }])).toThrow(/subscribe: .*1\.query\.messageId/);
  });

  it('never accepts what the schema refuses, and agrees on output whenever it accepts (2,000 mutated lists)', () => {
    holdToSchema(
      SubscribeArgsSchema,
      fastReadStateSubscribeArgs,
      (seed, rand) => {
        const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
        const list: unknown[] = Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, i) => entry(seed * 10 + i));
        for (let k = Math.floor(rand() * 3); k > 0; k--) {
          const i = Math.floor(rand() * list.length);
          const e = list[i] as { id: unknown; query: Record<string, unknown> };
          const where = rand();
          if (typeof e !== 'object' || e === null || Array.isArray(e)) continue; // already replaced
          if (where < 0.1) list[i] = pick(ODD);
          else if (where < 0.35) e.id = pick(ODD);
          else if (where < 0.55) e.query = pick(ODD) as Record<string, unknown>;
          else if (typeof e.query === 'object' && e.query !== null) e.query[rand() < 0.5 ? 'kind' : 'messageId'] = pick(ODD);
        }
        return rand() < 0.03 ? pick(ODD) : list;
      },
      // Lists of other kinds are the schema's to parse.
      (raw) => Array.isArray(raw) && raw.every((e: { query?: { kind?: unknown } }) => e?.query?.kind === 'read-state'),
    );
  });
});
