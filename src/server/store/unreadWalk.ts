import type { AudienceMember } from './Store';

/**
 * The UNREAD member walk over a message's reader bitmap (issue 14), shared by
 * the stores. Each member of a conversation has a stable ordinal (0, 1, …,
 * given at their first join, in join order); each message keeps one bit per
 * ordinal, set in the transaction that counts the member's public read. The
 * unread members of a message are then the zero bits up to the highest
 * ordinal that existed when it was sent (later joiners cannot be in its
 * audience), each checked against the spans (the sender, and members who had
 * left by then, are zero bits too), plus the readers whose read came after
 * the walk's snapshot (their bit is set, but at the snapshot they were
 * unread). Fully read stretches are skipped a word at a time, so a page costs
 * O(page + bitmap words scanned), not a step per reader.
 *
 * PostgreSQL keeps the bitmap as rows of CHUNK_BITS bits (bit(1024); bit i
 * of chunk c is ordinal 1024c + i), scanned by `zerosInChunks`; SQLite as
 * one 64-bit integer per 64 members (`sqliteZeros` in SqliteOps), memory as
 * 32-bit words. A chunk without a row is all zeros. A 100,000-member group's
 * message read by all has 98 PostgreSQL rows, so a page reads at most those.
 */
export const CHUNK_BITS = 1024;

/** What a store answers for one message's walk (two questions a step, so PostgreSQL answers a page in two round trips). */
export interface UnreadWalkSource {
  /**
   * Zero-bit ordinals in [from, bound], ascending: at least `want` of them
   * unless fewer remain; `scannedTo` is the last ordinal the answer covers
   * (every zero bit in [from, scannedTo] is in `ordinals`). `bound` is the
   * highest ordinal given before the message's position (later joiners
   * cannot be in its audience; -1 if none): null on the first step, when the
   * answer looks it up and says it.
   */
  zeros(from: number, bound: number | null, want: number): Zeros;
  /**
   * Those of `ordinals` (ascending) who were in the message's audience, the
   * sender left out, and with `late` the public readers with ordinals in
   * (late.after, late.upTo] whose read came after the snapshot (also checked
   * against the audience); ascending, each once. Asked after `zeros` for
   * the same stretch: a read whose bit the bitmap showed had committed by
   * then, so this answer sees its row.
   */
  members(ordinals: readonly number[], late: { after: number; upTo: number } | null): AudienceMember[];
}

/** The asynchronous form of `UnreadWalkSource` (PostgreSQL). */
export type AsyncUnreadWalkSource = { [K in keyof UnreadWalkSource]: (...args: Parameters<UnreadWalkSource[K]>) => Promise<ReturnType<UnreadWalkSource[K]>> };

/** Zero-bit ordinals of a stretch of the bitmap, and the walk's bound. */
export interface Zeros {
  ordinals: number[];
  scannedTo: number;
  bound: number;
}

/** Candidates checked beyond the page each round: the sender, and a few who had left, rarely need a second round. */
const SLACK = 8;

/**
 * Up to `limit` unread members with ordinal above `after` (null: from the
 * start), in ordinal order. `snapshot`: reads after it count as unread.
 */
export function walkUnread(src: UnreadWalkSource, after: number | null, limit: number, snapshot: boolean): AudienceMember[] {
  const walk = unreadSteps(after, limit, snapshot);
  let step = walk.next();
  while (!step.done) {
    const q = step.value;
    step = walk.next(q.kind === 'zeros' ? src.zeros(q.from, q.bound, q.want) : src.members(q.ordinals, q.late));
  }
  return step.value;
}

/** `walkUnread` over a store that answers asynchronously. */
export async function walkUnreadAsync(src: AsyncUnreadWalkSource, after: number | null, limit: number, snapshot: boolean): Promise<AudienceMember[]> {
  const walk = unreadSteps(after, limit, snapshot);
  let step = walk.next();
  while (!step.done) {
    const q = step.value;
    step = walk.next(q.kind === 'zeros' ? await src.zeros(q.from, q.bound, q.want) : await src.members(q.ordinals, q.late));
  }
  return step.value;
}

type WalkQuestion =
  | { kind: 'zeros'; from: number; bound: number | null; want: number }
  | { kind: 'members'; ordinals: number[]; late: { after: number; upTo: number } | null };

/** The walk itself, as questions to the store (so one loop serves synchronous and asynchronous stores). */
function* unreadSteps(after: number | null, limit: number, snapshot: boolean): Generator<WalkQuestion, AudienceMember[], Zeros | AudienceMember[]> {
  const out: AudienceMember[] = [];
  if (limit <= 0) return out;
  let from = after === null ? 0 : after + 1;
  let bound: number | null = null;
  while (out.length < limit && (bound === null || from <= bound)) {
    const z = (yield { kind: 'zeros', from, bound, want: limit - out.length + SLACK }) as Zeros;
    bound = z.bound;
    if (from > bound) break;
    // Reads after the snapshot: usually none or a few (one index range read, in the same answer).
    const late = snapshot ? { after: from - 1, upTo: z.scannedTo } : null;
    if (z.ordinals.length > 0 || late) for (const m of (yield { kind: 'members', ordinals: z.ordinals, late }) as AudienceMember[]) out.push(m);
    from = z.scannedTo + 1;
  }
  return out.length > limit ? out.slice(0, limit) : out;
}

/** Two ascending lists of ordinals as one, each once. */
export function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x < y)) {
      out.push(x as number);
      i++;
    } else {
      if (x === y) i++;
      out.push(y);
      j++;
    }
  }
  return out;
}

/** A stored chunk of a reader bitmap: bit i is byte i >> 3, bit i & 7 (bytes past its end are zeros). */
export interface ChunkRow {
  chunk: number;
  bits: Uint8Array;
}

/**
 * Zero-bit ordinals in [from, bound] from `rows`, every stored chunk of the
 * message in chunks [chunkOf(from), toChunk], ascending (a chunk without a
 * row is all zeros), stopping once `want` are found.
 */
export function zerosInChunks(rows: readonly ChunkRow[], toChunk: number, from: number, bound: number, want: number): Zeros {
  if (from > bound) return { ordinals: [], scannedTo: from - 1, bound };
  const ordinals: number[] = [];
  const end = Math.min(bound, toChunk * CHUNK_BITS + CHUNK_BITS - 1);
  let r = 0;
  let o = from;
  while (o <= end) {
    const chunk = Math.floor(o / CHUNK_BITS);
    const base = chunk * CHUNK_BITS;
    const last = Math.min(end, base + CHUNK_BITS - 1);
    while (r < rows.length && (rows[r] as ChunkRow).chunk < chunk) r++;
    const row = rows[r];
    if (row === undefined || row.chunk !== chunk) {
      // No row: nobody of these 1,024 has read.
      for (; o <= last; o++) {
        ordinals.push(o);
        if (ordinals.length >= want) return { ordinals, scannedTo: o, bound };
      }
      continue;
    }
    const bits = row.bits;
    while (o <= last) {
      const i = o - base;
      const byte = bits[i >> 3] ?? 0;
      if (byte === 0xff) {
        o += 8 - (i & 7); // the rest of eight readers
        continue;
      }
      if (((byte >> (i & 7)) & 1) === 0) {
        ordinals.push(o);
        if (ordinals.length >= want) return { ordinals, scannedTo: o, bound };
      }
      o++;
    }
  }
  return { ordinals, scannedTo: end, bound };
}
