import { afterEach, describe, expect, it } from 'vitest';
import type { MessageReceipt } from '../../src/protocol';
import type { ReadState } from '../../src/bridge';
import { mergeReceipt } from '../../worker/store/applyReceipts';
import { loadReceiptCursor } from '../../worker/store/meta';
import { newCore, openClient, type Client } from './harness';

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const receipt = (messageId: string, readCount: number, audience: number, timestamp = readCount * 10): MessageReceipt => ({
  convId: 'team',
  convType: 'group',
  messageId,
  timestamp,
  isPeerRead: readCount === audience,
  readCount,
  unreadCount: audience - readCount,
});

/** A seeded shuffle (mulberry32), so a failure is reproducible from the printed seed. */
function shuffle<T>(items: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('receipt updates only move forward', () => {
  it('mergeReceipt: any order of duplicated states ends at the newest, never stepping back', () => {
    const states = [0, 1, 2, 3, 4, 5].map((n) => receipt('msg00000001', n, 5));
    for (let seed = 1; seed <= 200; seed++) {
      let cur: MessageReceipt | undefined;
      for (const s of shuffle([...states, ...states], seed)) {
        const next = mergeReceipt(cur, s);
        if (next) {
          if (cur) {
            expect(next.readCount, `seed ${seed}`).toBeGreaterThanOrEqual(cur.readCount);
            expect(next.unreadCount, `seed ${seed}`).toBeLessThanOrEqual(cur.unreadCount);
            expect(!cur.isPeerRead || next.isPeerRead, `seed ${seed}`).toBe(true);
          }
          cur = next;
        }
      }
      expect(cur, `seed ${seed}`).toMatchObject({ readCount: 5, unreadCount: 0, isPeerRead: true, timestamp: 50 });
    }
  });

  it('mergeReceipt with deliveries: deliveredCount never goes down nor below readCount, and an absent one (older servers, older rows) counts as readCount', () => {
    // (read, delivered) states of one message with an audience of 5, some from a server without deliveries.
    const states: MessageReceipt[] = [
      [0, 0],
      [0, 2],
      [1, 2],
      [1, 4],
      [3, 4],
      [3, undefined],
      [4, undefined],
      [4, 5],
    ].map(([read, delivered]) => {
      const r = receipt('msg00000001', read!, 5);
      return delivered === undefined ? r : { ...r, deliveredCount: delivered };
    });
    for (let seed = 1; seed <= 200; seed++) {
      let cur: MessageReceipt | undefined;
      for (const s of shuffle([...states, ...states], seed)) {
        const next = mergeReceipt(cur, s);
        if (next) {
          expect(next.deliveredCount, `seed ${seed}`).toBeGreaterThanOrEqual(next.readCount);
          if (cur) expect(next.deliveredCount, `seed ${seed}`).toBeGreaterThanOrEqual(cur.deliveredCount ?? cur.readCount);
          cur = next;
        }
      }
      expect(cur, `seed ${seed}`).toMatchObject({ readCount: 4, unreadCount: 1, deliveredCount: 5 });
    }
    // A row stored before deliveries existed: the same state again is no change, a delivery is.
    const old = receipt('msg00000001', 2, 5);
    expect(mergeReceipt(old, old)).toBeNull();
    expect(mergeReceipt(old, { ...old, deliveredCount: 2 })).toBeNull();
    expect(mergeReceipt(old, { ...old, deliveredCount: 3 })).toMatchObject({ readCount: 2, deliveredCount: 3 });
    // A read arriving without a delivered count (an older server) lifts deliveredCount with it.
    expect(mergeReceipt({ ...old, deliveredCount: 2 }, receipt('msg00000001', 3, 5))).toMatchObject({ readCount: 3, deliveredCount: 3 });
    expect(mergeReceipt(undefined, old)).toMatchObject({ deliveredCount: 2 });
  });

  it('a duplicate or older update is a no-op', () => {
    const newer = receipt('msg00000001', 3, 5);
    expect(mergeReceipt(newer, newer)).toBeNull();
    expect(mergeReceipt(newer, receipt('msg00000001', 2, 5))).toBeNull();
  });

  it('out-of-order and duplicate receipt events never move the live read state or the stored cursor backwards', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'b1', 'b2', 'b3', 'b4'] });
    const alice = await openClient(core, 'alice');
    open.push(alice);
    await alice.worker.engine.idle();
    const m = await alice.api.sendMessage({ convId: 'team', text: 'x', needReadReceipt: true });
    await alice.api.flush();
    await alice.until(() => alice.db.messages.get(m.id), (r) => r?.status === 'sent', 'sent');
    const rs = await alice.sub({ kind: 'read-state', messageId: m.id });
    await alice.until(() => alice.values.get(rs) as ReadState | undefined, (s) => s?.label === '0 read · 4 unread', 'initial');

    const seen: number[] = [];
    const batchesBefore = alice.batches.length;
    const events = [
      { type: 'receipts', receipts: [receipt(m.id, 3, 4)], cursor: 103 },
      { type: 'receipts', receipts: [receipt(m.id, 1, 4)], cursor: 101 },
      { type: 'receipts', receipts: [receipt(m.id, 3, 4)], cursor: 103 },
      { type: 'receipts', receipts: [receipt(m.id, 2, 4)], cursor: 102 },
    ];
    for (const e of events) {
      await alice.worker.engine.apply(e);
      await alice.worker.hub.idle();
    }
    await alice.until(() => alice.values.get(rs) as ReadState | undefined, (s) => s?.readCount === 3, 'three read');
    for (const batch of alice.batches.slice(batchesBefore)) for (const u of batch) if (u.id === rs) seen.push((u.value as ReadState).readCount);
    expect(seen).toEqual([3]);
    expect((alice.values.get(rs) as ReadState).label).toBe('3 read · 1 unread');
    expect(await loadReceiptCursor(alice.db)).toBe(103);
    expect(await alice.db.receipts.get(m.id)).toMatchObject({ readCount: 3, unreadCount: 1 });
  });

  it('a message delivered again never overwrites the stored server fields', async () => {
    const core = newCore();
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob'] });
    const alice = await openClient(core, 'alice');
    open.push(alice);
    const wire = { id: 'msgAAAAAAAA', convId: 'team', convType: 'group' as const, senderId: 'bob', text: 'hi', needReadReceipt: true, seq: 7, sentAt: 70, audienceCount: 1 };
    await alice.api.receiveMessages([wire]);
    await alice.api.markRead([wire.id]);
    await alice.api.receiveMessages([{ ...wire, seq: 3, sentAt: 30, text: 'changed' }]);
    expect(await alice.db.messages.get(wire.id)).toMatchObject({ seq: 7, sentAt: 70, text: 'hi' });
    expect((await alice.db.messages.get(wire.id))?.readAt).toBeGreaterThan(0);
  });
});
