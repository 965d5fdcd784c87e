import * as v from 'valibot';
import { expect } from 'vitest';
import { mulberry32 } from './mulberry32';

/**
 * Holds a fast path to its schema over `runs` seeded random payloads: it may
 * only accept what the schema accepts, with the same output, and it must
 * accept every payload `mustAccept` says is valid. `make` builds a valid
 * payload and mutates it with the PRNG (or not).
 */
export function holdToSchema(
  schema: v.GenericSchema,
  fast: (raw: unknown) => unknown,
  make: (seed: number, rand: () => number) => unknown,
  mustAccept: (raw: unknown) => boolean = () => true,
  runs = 2000,
): void {
  let accepted = 0;
  let refusedBySchema = 0;
  for (let seed = 1; seed <= runs; seed++) {
    const raw = make(seed, mulberry32(seed));
    const parsed = v.safeParse(schema, raw);
    const out = fast(raw);
    if (!parsed.success) refusedBySchema++;
    if (out !== null) {
      accepted++;
      expect(parsed.success, `seed ${seed}: the fast path accepted what the schema refuses: ${JSON.stringify(raw)}`).toBe(true);
      expect(out, `seed ${seed}`).toEqual(parsed.output);
    } else if (parsed.success && mustAccept(raw)) {
      throw new Error(`seed ${seed}: a valid payload missed the fast path: ${JSON.stringify(raw)}`);
    }
  }
  // Both sides of the comparison were exercised.
  expect(accepted).toBeGreaterThan(runs / 10);
  expect(refusedBySchema).toBeGreaterThan(runs / 10);
}
