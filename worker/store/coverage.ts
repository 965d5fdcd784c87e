import type { ConversationRow, ReadSyncDb } from '../db/ReadSyncDb';

/**
 * Position ranges `(lo, hi]` of a conversation whose messages are ALL stored
 * here, sorted, disjoint and not touching. A fresh install that synced the
 * newest window of a long conversation holds one range near its end; paging
 * back extends it downwards; a long absence can leave a second range above
 * a gap until paging back closes it.
 */
export type Coverage = [number, number][];

const isRange = (r: unknown): r is [number, number] =>
  Array.isArray(r) && r.length === 2 && Number.isSafeInteger(r[0]) && Number.isSafeInteger(r[1]) && (r[0] as number) < (r[1] as number);

/**
 * The stored coverage of a conversation. Rows written before coverage existed
 * (or damaged) fall back to `pulledSeq`: those were always pulled from 0.
 */
export function coverageOf(row: Pick<ConversationRow, 'pulledSeq' | 'covered'> | undefined): Coverage {
  if (!row) return [];
  if (Array.isArray(row.covered) && row.covered.every(isRange)) return row.covered;
  return typeof row.pulledSeq === 'number' && row.pulledSeq > 0 ? [[0, row.pulledSeq]] : [];
}

/** The coverage with `(lo, hi]` added, merged with every range it overlaps or touches. */
export function addRange(coverage: Coverage, lo: number, hi: number): Coverage {
  if (!(hi > lo)) return coverage;
  const out: Coverage = [];
  let merged: [number, number] = [lo, hi];
  for (const r of coverage) {
    if (r[1] < merged[0]) out.push(r);
    else if (r[0] > merged[1]) {
      out.push(merged);
      merged = r;
    } else merged = [Math.min(r[0], merged[0]), Math.max(r[1], merged[1])];
  }
  out.push(merged);
  return out;
}

/**
 * Where the history shown for a conversation starts: every message above it
 * is stored, without a gap, up to the newest pulled (0 when the whole history
 * is here, or when nothing was synced yet: then whatever is stored is shown).
 */
export function historyFloor(coverage: Coverage): number {
  return coverage.at(-1)?.[0] ?? 0;
}

/**
 * Where the stored history right before position `pos` starts: every
 * message between it and `pos` is stored. Above the top range's floor that
 * is the floor (what the window shows, my pending messages included); at or
 * right after a lower range, that range's `lo`; in a gap, `pos - 1` (nothing
 * below `pos` is known to be complete).
 */
export function floorBefore(coverage: Coverage, pos: number): number {
  const floor = historyFloor(coverage);
  if (pos > floor) return floor;
  for (let i = coverage.length - 1; i >= 0; i--) {
    const [lo, hi] = coverage[i] as [number, number];
    if (pos > lo && pos <= hi + 1) return lo;
  }
  return Math.max(0, pos - 1);
}

/**
 * Records that `(lo, hi]` of each conversation is now stored, in ONE
 * transaction; `pulledSeq` follows the top of the coverage and never goes
 * back. Conversations not stored here are left alone (nothing hides their
 * messages: without coverage, a conversation shows everything stored).
 */
export async function recordCoverage(db: ReadSyncDb, ranges: ReadonlyMap<string, readonly [number, number]>): Promise<void> {
  if (ranges.size === 0) return;
  const ids = [...ranges.keys()];
  await db.transaction('rw', db.conversations, async () => {
    const rows = await db.conversations.bulkGet(ids);
    const puts: ConversationRow[] = [];
    ids.forEach((id, i) => {
      const row = rows[i];
      const [lo, hi] = ranges.get(id) as [number, number];
      if (!row || !(hi > lo)) return;
      const covered = addRange(coverageOf(row), lo, hi);
      const top = covered.at(-1)?.[1] ?? 0;
      const pulledSeq = Math.max(typeof row.pulledSeq === 'number' ? row.pulledSeq : 0, top);
      puts.push({ ...row, covered, pulledSeq });
    });
    if (puts.length > 0) await db.conversations.bulkPut(puts);
  });
}
