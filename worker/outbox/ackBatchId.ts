import type { Ack, DeliveryRange, ReadPosition } from '../../src/protocol';

/** cyrb53: a fast 53-bit string hash (public domain, bryc). */
function cyrb53(str: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * The idempotency key of an ack batch, derived from its content (user,
 * every ack, read position and delivery range, in order) rather than drawn at random:
 *
 * - A retry of the same batch, even by a new worker after a crash, carries
 *   the same id, so the server answers with the stored first result instead
 *   of applying anything again.
 * - A batch whose content changed (some acks confirmed meanwhile, new ones
 *   queued) gets a new id. Reusing an id for different content would be
 *   wrong: the server would replay a result that does not cover the new acks
 *   and those would never leave the outbox.
 *
 * Correctness never rests on the id alone: the server also keeps one receipt
 * per (message, reader), so an ack that arrives twice is a 'duplicate'.
 * Two 53-bit hashes (~106 bits) make collisions irrelevant at this scale.
 */
export function ackBatchId(userId: string, acks: readonly Ack[], positions: readonly ReadPosition[] = [], deliveries: readonly DeliveryRange[] = []): string {
  let s = userId;
  // The private flag only when set, so ids of public batches are what they were before it existed.
  for (const a of acks) s += a.p === 1 ? `|${a.m}:${a.t}:p` : `|${a.m}:${a.t}`;
  // Read positions are content too (a batch id replayed without them would answer none of them).
  for (const p of positions) s += p.p === 1 ? `|p${p.c}:${p.s}:${p.t}:p` : `|p${p.c}:${p.s}:${p.t}`;
  // So are delivery ranges (issue 10.5); absent, ids are what they were before them.
  for (const d of deliveries) s += `|d${d.c}:${d.f}:${d.s}`;
  return `a${cyrb53(s, 1).toString(36).padStart(11, '0')}${cyrb53(s, 2).toString(36).padStart(11, '0')}`;
}
