import { describe, expect, it } from 'vitest';
import { MAX_DELIVERIES_PER_BATCH } from '../../src/protocol';
import { bid, forEachStore, makeCore, mid } from './coreFixture';

/** Issue 10.5: what a delivery range counts, by the audience and receipt rules of SPEC §2. */
forEachStore(() => {
  describe('delivery ranges', () => {
    const deliver = (f: ReturnType<typeof makeCore>, userId: string, c: string, from: number, to: number) =>
      f.core.ackBatch(userId, { type: 'ack-batch', batchId: bid(), acks: [], deliveries: [{ c, f: from, s: to }] });

    it('count only messages from others that asked for receipts and had the user in their audience', async () => {
      const f = makeCore();
      await f.core.admin.createGroup({ id: 'g', name: 'G', groupType: 'work', members: ['alice', 'bob', 'carol'] });
      await f.send('alice', 'g', mid(1)); // 1
      await f.send('alice', 'g', mid(2), false); // 2: no receipt asked
      await f.send('bob', 'g', mid(3)); // 3: bob's own
      await f.core.admin.leave('g', 'carol'); // 4
      await f.send('alice', 'g', mid(5)); // 5: carol not in its audience
      await f.core.admin.join('g', 'dave'); // 6
      await f.send('alice', 'g', mid(7)); // 7: dave is
      const counts = async () => Promise.all([1, 5, 7].map(async (n) => (await f.receipt('alice', mid(n)))?.deliveredCount));

      expect((await deliver(f, 'bob', 'g', 0, 7)).deliveries).toEqual([{ c: 'g', s: 'accepted', n: 3 }]);
      // Carol left at 4: her device may say it stored everything up to 7; only 1 and bob's 3 count.
      expect((await deliver(f, 'carol', 'g', 0, 7)).deliveries).toEqual([{ c: 'g', s: 'accepted', n: 2 }]);
      // Dave joined at 6: his history up to 5 is not his audience; 7 is.
      expect((await deliver(f, 'dave', 'g', 0, 7)).deliveries).toEqual([{ c: 'g', s: 'accepted', n: 1 }]);
      expect(await counts()).toEqual([2, 1, 2]);
      // Bob's own message was not counted by his range; carol's counted it, alice's does now.
      expect((await f.receipt('bob', mid(3)))?.deliveredCount).toBe(1);
      expect((await deliver(f, 'alice', 'g', 2, 3)).deliveries).toEqual([{ c: 'g', s: 'accepted', n: 1 }]);
      expect((await f.receipt('bob', mid(3)))?.deliveredCount).toBe(2);
      // Beyond the conversation's end: cut there.
      expect((await deliver(f, 'bob', 'g', 7, 1_000_000)).deliveries).toEqual([{ c: 'g', s: 'accepted', n: 0 }]);
    });

    it('move the counters forward only: delivered never below read, reads after deliveries do not count twice', async () => {
      const f = makeCore();
      await f.core.admin.createGroup({ id: 'g', name: 'G', groupType: 'work', members: ['alice', 'bob', 'carol'] });
      await f.send('alice', 'g', mid(1));
      await f.send('alice', 'g', mid(2));
      // bob: delivered then read; carol: read (without delivery: an older client) then delivered.
      await deliver(f, 'bob', 'g', 0, 2);
      await f.ack('bob', [mid(1)]);
      await f.ack('carol', [mid(1), mid(2)]);
      await deliver(f, 'carol', 'g', 0, 2);
      expect(await f.receipt('alice', mid(1))).toMatchObject({ readCount: 2, deliveredCount: 2, unreadCount: 0 });
      expect(await f.receipt('alice', mid(2))).toMatchObject({ readCount: 1, deliveredCount: 2, unreadCount: 1 });
      // A read position over both, by bob: 2 is read now, 1 stays as it was.
      await f.core.ackBatch('bob', { type: 'ack-batch', batchId: bid(), acks: [], positions: [{ c: 'g', s: 2, t: 5 }] });
      expect(await f.receipt('alice', mid(2))).toMatchObject({ readCount: 2, deliveredCount: 2, isPeerRead: true });
    });

    it('refuse a batch with more ranges than the limit, and apply nothing of it', async () => {
      const f = makeCore();
      await f.core.admin.createGroup({ id: 'g', name: 'G', groupType: 'work', members: ['alice', 'bob'] });
      await f.send('alice', 'g', mid(1));
      const deliveries = Array.from({ length: MAX_DELIVERIES_PER_BATCH + 1 }, () => ({ c: 'g', f: 0, s: 1 }));
      await expect(f.core.ackBatch('bob', { type: 'ack-batch', batchId: bid(), acks: [], deliveries })).rejects.toMatchObject({ code: 'invalid-argument' });
      expect((await f.receipt('alice', mid(1)))?.deliveredCount).toBe(0);
    });

    it('tell the sender once per change, coalesced like reads', async () => {
      const f = makeCore();
      await f.core.admin.createGroup({ id: 'g', name: 'G', groupType: 'work', members: ['alice', 'bob', 'carol'] });
      await f.send('alice', 'g', mid(1));
      const { events, stop } = await f.listen('alice');
      await deliver(f, 'bob', 'g', 0, 1);
      await deliver(f, 'bob', 'g', 0, 1); // again: nothing new, nothing told
      await deliver(f, 'carol', 'g', 0, 1);
      await new Promise((r) => setTimeout(r, 20));
      const told = events.flatMap((e) => (e.type === 'receipts' ? e.receipts.map((r) => r.deliveredCount) : []));
      expect(told.at(-1)).toBe(2);
      expect(told.length).toBeLessThanOrEqual(2);
      stop();
    });
  });
});
