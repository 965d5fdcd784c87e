import { describe, expect, it } from 'vitest';
import type { ReceiptsEvent, ServerEvent } from '../../src/protocol';
import { signCursor } from '../../src/server/core/signedCursor';
import type { Store } from '../../src/server/store/Store';
import { forEachStore, makeCore, mid, newStore, settle } from './coreFixture';

const receiptsOf = (events: ServerEvent[]) => events.filter((e): e is ReceiptsEvent => e.type === 'receipts');

async function group(f: ReturnType<typeof makeCore>, n: number, id = 'big') {
  const members = Array.from({ length: n }, (_, i) => `u${String(i).padStart(4, '0')}`);
  await f.core.admin.createGroup({ id, name: 'Big', groupType: 'work', members: ['alice', ...members] });
  return members;
}
forEachStore(() => {
  describe('SyncCore: idempotency and monotonic counts', () => {
    it('returns the first result for a replayed batchId and counts its acks once', async () => {
      const f = makeCore();
      await group(f, 3);
      await f.send('alice', 'big', mid(1));
      const first = await f.ack('u0000', [mid(1), mid(404)], 100, 'same-batch-1');
      const again = await f.ack('u0000', [mid(1), mid(404)], 100, 'same-batch-1');
      expect(again).toEqual(first);
      expect(first.results).toEqual([
        { m: mid(1), s: 'accepted' },
        { m: mid(404), s: 'rejected', r: 'not-found' },
      ]);
      // The same acks under a new batchId are duplicates, still counted once.
      expect((await f.ack('u0000', [mid(1)], 100)).results).toEqual([{ m: mid(1), s: 'duplicate' }]);
      // batchIds are per user: another user's batch with the same id is its own.
      expect((await f.ack('u0001', [mid(1)], 100, 'same-batch-1')).results).toEqual([{ m: mid(1), s: 'accepted' }]);
      expect(await f.receipt('alice', mid(1))).toMatchObject({ readCount: 2, unreadCount: 1 });
    });

    it('never moves counts or the read time backwards, whatever order acks arrive in', async () => {
      const f = makeCore();
      const members = await group(f, 20);
      await f.send('alice', 'big', mid(1));
      let prev = { readCount: 0, timestamp: 0 };
      // readers report client clocks out of order
      for (const [i, u] of members.entries()) {
        await f.ack(u, [mid(1)], 1000 + ((i * 7) % 20) * 10);
        await f.ack(u, [mid(1)], 1); // a stale duplicate
        const r = (await f.receipt('alice', mid(1)))!;
        expect(r.readCount).toBe(prev.readCount + 1);
        expect(r.timestamp).toBeGreaterThanOrEqual(prev.timestamp);
        expect(r.readCount + r.unreadCount).toBe(20);
        prev = r;
      }
      expect(prev).toMatchObject({ isPeerRead: true, unreadCount: 0, timestamp: 1190 });
    });

    it('stores nothing of a batch that fails half-way (all-or-nothing)', async () => {
      const store = newStore();
      const f = makeCore({ store });
      await group(f, 3);
      await f.send('alice', 'big', mid(1));
      await f.send('alice', 'big', mid(2));
      // the reads get inserted, then the counter update fails
      const realTransaction = store.transaction.bind(store);
      store.transaction = (fn) => realTransaction((tx) => fn(Object.assign(Object.create(tx) as Store, { updateReadStates: () => Promise.reject(new Error('disk full')) })));
      await expect(f.ack('u0000', [mid(1), mid(2)], 100, 'failing-batch')).rejects.toThrow('disk full');
      store.transaction = realTransaction;
      expect(await f.receipt('alice', mid(1))).toMatchObject({ readCount: 0 });
      // not remembered as applied either: the retry applies it
      expect((await f.ack('u0000', [mid(1), mid(2)], 100, 'failing-batch')).results.map((r) => r.s)).toEqual(['accepted', 'accepted']);
      expect(await f.receipt('alice', mid(2))).toMatchObject({ readCount: 1 });
    });
  });

  describe('SyncCore: member pages', () => {
    it('pages read members completely and without duplicates while acks keep arriving', async () => {
      const f = makeCore();
      const members = await group(f, 60);
      await f.send('alice', 'big', mid(1));
      for (const u of members.slice(0, 20)) await f.ack(u, [mid(1)]);
      const seen: string[] = [];
      let cursor: string | null = null;
      let next = 20;
      for (;;) {
        const { page } = await f.core.memberPage('alice', { type: 'member-page', messageId: mid(1), filter: 'read', cursor, count: 7 });
        seen.push(...page.members.map((m) => m.userId));
        if (next < members.length) await f.ack(members[next++]!, [mid(1)]); // an ack between pages
        if (page.isFinished) break;
        cursor = page.nextCursor;
      }
      expect(new Set(seen).size).toBe(seen.length);
      // every reader up to the last page is there, in ack order
      expect(seen).toEqual(members.slice(0, seen.length));
      expect(seen.length).toBeGreaterThanOrEqual(20);
    });

    it('pages unread members in userId order; those who read meanwhile drop out, nobody twice', async () => {
      const f = makeCore();
      const members = await group(f, 30);
      await f.send('alice', 'big', mid(1));
      const seen: string[] = [];
      let cursor: string | null = null;
      let i = members.length - 1;
      for (;;) {
        const { page } = await f.core.memberPage('alice', { type: 'member-page', messageId: mid(1), filter: 'unread', cursor, count: 4 });
        seen.push(...page.members.map((m) => m.userId));
        await f.ack(members[i--]!, [mid(1)]); // readers from the end of the list
        if (page.isFinished) break;
        cursor = page.nextCursor;
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual([...seen].sort());
      const stillUnread = members.slice(0, i + 1);
      for (const u of stillUnread) expect(seen).toContain(u);
    });

    it('refuses a tampered cursor or one of another message, and caps count at maxMemberPage', async () => {
      const f = makeCore({ limits: { maxMemberPage: 5 } });
      await group(f, 12);
      await f.send('alice', 'big', mid(1));
      await f.send('alice', 'big', mid(2));
      const { page } = await f.core.memberPage('alice', { type: 'member-page', messageId: mid(1), filter: 'unread', count: 50 });
      expect(page.members).toHaveLength(5);
      const cursor = page.nextCursor!;
      const [body, sig] = cursor.split('.');
      const forged = Buffer.from(JSON.stringify({ m: mid(1), f: 'unread', k: 'u0009' })).toString('base64url');
      for (const bad of [`${forged}.${sig}`, `${body}.AAAA${sig!.slice(4)}`, 'garbage', '']) {
        await expect(f.core.memberPage('alice', { type: 'member-page', messageId: mid(1), filter: 'unread', cursor: bad, count: 5 })).rejects.toMatchObject({
          code: 'invalid-argument',
        });
      }
      await expect(f.core.memberPage('alice', { type: 'member-page', messageId: mid(2), filter: 'unread', cursor, count: 5 })).rejects.toMatchObject({ code: 'invalid-argument' });
      await expect(f.core.memberPage('alice', { type: 'member-page', messageId: mid(1), filter: 'read', cursor, count: 5 })).rejects.toMatchObject({ code: 'invalid-argument' });
      // A genuine UNREAD cursor of a server before issue 14 (a userId where the place in join order now goes).
      const older = signCursor('test-secret', { m: mid(1), f: 'unread', k: 'u0004', a: page.at });
      await expect(f.core.memberPage('alice', { type: 'member-page', messageId: mid(1), filter: 'unread', cursor: older, count: 5 })).rejects.toMatchObject({
        code: 'invalid-argument',
        message: expect.stringContaining('start the walk again'),
      });
    });
  });

  describe('SyncCore: events', () => {
    it('greets first, sends new messages to members, and receipts to the sender only, coalesced', async () => {
      const f = makeCore();
      await group(f, 3);
      const alice = await f.listen('alice');
      const bob = await f.listen('u0000');
      const outsider = await f.listen('erin');
      expect(alice.events[0]).toMatchObject({ type: 'hello', userId: 'alice', protocolVersion: 1, cursor: 0 });
      await f.send('alice', 'big', mid(1));
      await f.send('alice', 'big', mid(2));
      await settle();
      expect(bob.events.filter((e) => e.type === 'messages')).toHaveLength(2);
      expect(outsider.events.map((e) => e.type)).toEqual(['hello']);

      // two batches that commit before the next flush
      await Promise.all([f.ack('u0000', [mid(1), mid(2)]), f.ack('u0001', [mid(1)])]);
      await settle();
      const got = receiptsOf(alice.events);
      expect(got).toHaveLength(1); // both batches in one flush, one receipt per message
      expect(got[0]!.receipts.map((r) => [r.messageId, r.readCount])).toEqual([
        [mid(2), 1],
        [mid(1), 2],
      ]);
      expect(got[0]!.cursor).toBe(3);
      expect(receiptsOf(bob.events)).toEqual([]);
      expect(receiptsOf(outsider.events)).toEqual([]);
    });

    it('replays every receipt change after `since` as current state, then continues live', async () => {
      const f = makeCore();
      await group(f, 3);
      for (const n of [1, 2, 3]) await f.send('alice', 'big', mid(n));
      await f.ack('u0000', [mid(1)]); // ack seq 1
      await f.ack('u0000', [mid(2)]); // 2
      await f.ack('u0001', [mid(1)]); // 3
      const resumed = await f.listen('alice', 2);
      expect(resumed.events[0]).toMatchObject({ type: 'hello', cursor: 3 });
      expect(receiptsOf(resumed.events)).toEqual([
        { type: 'receipts', cursor: 3, receipts: [expect.objectContaining({ messageId: mid(1), readCount: 2 })] },
      ]);
      const fresh = await f.listen('alice', 0);
      expect(receiptsOf(fresh.events).flatMap((e) => e.receipts.map((r) => r.messageId))).toEqual([mid(2), mid(1)]);

      await f.ack('u0002', [mid(3)]);
      await settle();
      const live = receiptsOf(resumed.events).at(-1)!;
      expect(live).toMatchObject({ cursor: 4, receipts: [expect.objectContaining({ messageId: mid(3), readCount: 1 })] });
      resumed.stop();
      await f.ack('u0002', [mid(1)]);
      await settle();
      expect(receiptsOf(resumed.events).at(-1)).toBe(live);
    });

    it('announces membership changes to members and to the one who left', async () => {
      const f = makeCore();
      await group(f, 2);
      const alice = await f.listen('alice');
      const leaver = await f.listen('u0001');
      await f.core.admin.leave('big', 'u0001');
      await settle();
      expect(alice.events.at(-1)).toMatchObject({ type: 'conversation', conversation: { id: 'big', memberCount: 2, seq: 1 } });
      expect(leaver.events.at(-1)).toMatchObject({ type: 'conversation', conversation: { id: 'big', memberCount: 2 } });
      await f.core.admin.join('big', 'erin');
      await settle();
      expect(leaver.events.filter((e) => e.type === 'conversation')).toHaveLength(1);
    });
  });
});
