import { describe, expect, it } from 'vitest';
import { c2cId } from '../../src/server/core/GroupAdmin';
import { forEachStore, makeCore, mid } from './coreFixture';

function team(f: ReturnType<typeof makeCore>, groupType: 'work' | 'community' = 'work', id = 'team') {
  return f.core.admin.createGroup({ id, name: 'Team', groupType, members: ['alice', 'bob', 'carol', 'dave'] });
}
forEachStore(() => {
  describe('SyncCore: c2c', () => {
    it('runs the seed flow: send with receipt, peer reads, sender sees "Read" with the read time', async () => {
      const f = makeCore();
      const conv = await f.core.admin.createC2C('alice', 'bob');
      expect(conv.id).toBe(c2cId('bob', 'alice'));
      expect(conv.name).toBe('bob');
      const sent = await f.send('alice', conv.id, mid(1));
      expect(sent.status).toBe('accepted');
      expect(sent.message).toMatchObject({ seq: 1, audienceCount: 1, senderId: 'alice', convType: 'c2c' });

      const pulled = await f.core.pullMessages('bob', { type: 'pull-messages', since: {} });
      expect(pulled.conversations).toEqual([expect.objectContaining({ id: conv.id, name: 'alice', receiptsEnabled: true })]);
      expect(pulled.messages.map((m) => m.id)).toEqual([mid(1)]);

      expect(await f.receipt('alice', mid(1))).toMatchObject({ isPeerRead: false, readCount: 0, unreadCount: 1, timestamp: 0 });
      const readAt = 1_600_000_000_000; // client clock, hours before it reaches the server
      const res = await f.ack('bob', [mid(1)], readAt);
      expect(res.results).toEqual([{ m: mid(1), s: 'accepted' }]);
      expect(await f.receipt('alice', mid(1))).toEqual({
        convId: conv.id,
        convType: 'c2c',
        messageId: mid(1),
        timestamp: readAt,
        isPeerRead: true,
        readCount: 1,
        unreadCount: 0,
        // A read implies delivery.
        deliveredCount: 1,
      });
    });

    it('refuses member pages for c2c messages', async () => {
      const f = makeCore();
      const conv = await f.core.admin.createC2C('alice', 'bob');
      await f.send('alice', conv.id, mid(1));
      await expect(f.core.memberPage('alice', { type: 'member-page', messageId: mid(1), filter: 'read', count: 10 })).rejects.toMatchObject({ code: 'invalid-argument' });
    });
  });

  describe('SyncCore: group', () => {
    it('counts "1 read · 2 unread" and pages read and unread members one at a time', async () => {
      const f = makeCore();
      await team(f);
      const sent = await f.send('alice', 'team', mid(1));
      expect(sent.message?.audienceCount).toBe(3);
      await f.ack('bob', [mid(1)]);
      expect(await f.receipt('alice', mid(1))).toMatchObject({ readCount: 1, unreadCount: 2, isPeerRead: false });

      const read = await f.allPages('alice', mid(1), 'read', 1);
      expect(read.flat().map((m) => m.userId)).toEqual(['bob']);
      expect(read.flat()[0]?.readAt).toBeGreaterThan(0);
      const unread = await f.allPages('alice', mid(1), 'unread', 1);
      expect(unread.map((p) => p.map((m) => m.userId))).toEqual([['carol'], ['dave']]);

      await f.ack('carol', [mid(1)]);
      await f.ack('dave', [mid(1)]);
      expect(await f.receipt('alice', mid(1))).toMatchObject({ readCount: 3, unreadCount: 0, isPeerRead: true });
      expect((await f.allPages('alice', mid(1), 'unread', 5)).flat()).toEqual([]);
      expect((await f.allPages('alice', mid(1), 'read', 2)).flat().map((m) => m.userId)).toEqual(['bob', 'carol', 'dave']);
    });

    it('refuses a receipt-requesting message in a group type without receipts, but takes a plain one', async () => {
      const f = makeCore();
      await team(f, 'community');
      expect(await f.send('alice', 'team', mid(1), true)).toMatchObject({ status: 'rejected', reason: 'receipts-disabled' });
      expect(await f.send('alice', 'team', mid(2), false)).toMatchObject({ status: 'accepted' });
      const conv = await f.core.admin.get('team', 'bob');
      expect(conv?.receiptsEnabled).toBe(false);
    });

    it('follows the configured receipt group types', async () => {
      const f = makeCore({ receiptGroupTypes: ['community'] });
      await team(f, 'work', 'w');
      await team(f, 'community', 'c');
      expect(await f.send('alice', 'w', mid(1))).toMatchObject({ status: 'rejected', reason: 'receipts-disabled' });
      expect(await f.send('alice', 'c', mid(2))).toMatchObject({ status: 'accepted' });
      expect(f.core.getConfig().receiptGroupTypes).toEqual(['community']);
    });
  });

  describe('SyncCore: rules', () => {
    it('rejects every ack that breaks a rule, with its reason, and counts none of them', async () => {
      const f = makeCore();
      await team(f);
      await f.core.admin.createC2C('erin', 'frank');
      await f.send('alice', 'team', mid(1));
      await f.send('alice', 'team', mid(2), false);
      const res = await f.ack('bob', [mid(1), mid(2), mid(999), mid(1)]);
      expect(res.results).toEqual([
        { m: mid(1), s: 'accepted' },
        { m: mid(2), s: 'rejected', r: 'receipt-not-requested' },
        { m: mid(999), s: 'rejected', r: 'not-found' },
        { m: mid(1), s: 'duplicate' },
      ]);
      expect((await f.ack('alice', [mid(1)])).results).toEqual([{ m: mid(1), s: 'rejected', r: 'own-message' }]);
      expect((await f.ack('erin', [mid(1)])).results).toEqual([{ m: mid(1), s: 'rejected', r: 'not-member' }]);
      expect(await f.receipt('alice', mid(1))).toMatchObject({ readCount: 1, unreadCount: 2 });
    });

    it('lets only members send, and only the sender see receipts and member lists', async () => {
      const f = makeCore();
      await team(f);
      expect(await f.send('erin', 'team', mid(1))).toMatchObject({ status: 'rejected', reason: 'not-member' });
      expect(await f.send('alice', 'nowhere', mid(2))).toMatchObject({ status: 'rejected', reason: 'not-found' });
      await f.send('alice', 'team', mid(3));
      const q = await f.core.queryReceipts('bob', { type: 'receipt-query', messageIds: [mid(3), mid(404)] });
      expect(q).toEqual({ type: 'receipt-query-result', receipts: [], rejected: [{ m: mid(3), r: 'not-sender' }, { m: mid(404), r: 'not-found' }] });
      const page = (userId: string, messageId: string) => f.core.memberPage(userId, { type: 'member-page', messageId, filter: 'unread', count: 10 });
      await expect(page('bob', mid(3))).rejects.toMatchObject({ code: 'not-sender' });
      await expect(page('alice', mid(404))).rejects.toMatchObject({ code: 'not-found' });
      expect((await f.core.pullMessages('erin', { type: 'pull-messages', since: {} })).messages).toEqual([]);
    });

    it('treats a resent message id as duplicate and a reused one as conflict', async () => {
      const f = makeCore();
      await team(f);
      const first = await f.send('alice', 'team', mid(1), true, 'hi');
      f.tick();
      const again = await f.send('alice', 'team', mid(1), true, 'hi');
      expect(again).toEqual({ id: mid(1), status: 'duplicate', message: first.message });
      expect(await f.send('alice', 'team', mid(1), true, 'different')).toEqual({ id: mid(1), status: 'rejected', reason: 'conflict' });
      expect(await f.send('bob', 'team', mid(1), true, 'hi')).toMatchObject({ status: 'rejected', reason: 'conflict' });
      const pulled = await f.core.pullMessages('bob', { type: 'pull-messages', since: {} });
      expect(pulled.messages).toHaveLength(1);
    });

    it('refuses oversized batches as a whole with invalid-argument', async () => {
      const f = makeCore({ limits: { maxAckBatch: 2, maxReceiptQuery: 2, maxMessageBatch: 1 } });
      await team(f);
      await f.send('alice', 'team', mid(1));
      await expect(f.ack('bob', [mid(1), mid(2), mid(3)])).rejects.toMatchObject({ code: 'invalid-argument' });
      await expect(f.core.queryReceipts('alice', { type: 'receipt-query', messageIds: [mid(1), mid(2), mid(3)] })).rejects.toMatchObject({ code: 'invalid-argument' });
      const two = [mid(5), mid(6)].map((id) => ({ id, convId: 'team', text: 'x', needReadReceipt: true, createdAt: 1 }));
      await expect(f.core.sendMessages('alice', { type: 'send-messages', messages: two })).rejects.toMatchObject({ code: 'invalid-argument' });
      expect(await f.receipt('alice', mid(1))).toMatchObject({ readCount: 0 });
    });
  });

  describe('SyncCore: join and leave', () => {
    it('keeps the audience fixed at send time: later joiners are not in it, later leavers stay', async () => {
      const f = makeCore();
      await team(f);
      await f.send('alice', 'team', mid(1));
      await f.core.admin.join('team', 'erin');
      await f.core.admin.leave('team', 'carol');
      expect((await f.core.admin.get('team', 'alice'))?.memberCount).toBe(4);

      // erin joined later: not in the audience, not listed as unread, ack refused
      expect((await f.ack('erin', [mid(1)])).results).toEqual([{ m: mid(1), s: 'rejected', r: 'not-in-audience' }]);
      // carol left later: still listed, and her (queued) read counts
      expect((await f.allPages('alice', mid(1), 'unread', 10)).flat().map((m) => m.userId)).toEqual(['bob', 'carol', 'dave']);
      expect((await f.ack('carol', [mid(1)])).results).toEqual([{ m: mid(1), s: 'accepted' }]);
      expect(await f.receipt('alice', mid(1))).toMatchObject({ readCount: 1, unreadCount: 2 });

      // a message after the changes has the new audience
      const later = await f.send('alice', 'team', mid(2));
      expect(later.message?.audienceCount).toBe(3);
      expect((await f.allPages('alice', mid(2), 'unread', 10)).flat().map((m) => m.userId)).toEqual(['bob', 'dave', 'erin']);
      expect((await f.ack('carol', [mid(2)])).results).toEqual([{ m: mid(2), s: 'rejected', r: 'not-member' }]);
      expect((await f.ack('erin', [mid(2)])).results).toEqual([{ m: mid(2), s: 'accepted' }]);
    });

    it('lets a member who left and rejoined read what was sent while they were in', async () => {
      const f = makeCore();
      await team(f);
      await f.send('alice', 'team', mid(1));
      await f.core.admin.leave('team', 'bob');
      await f.send('alice', 'team', mid(2));
      await f.core.admin.join('team', 'bob');
      const res = await f.ack('bob', [mid(1), mid(2)]);
      expect(res.results).toEqual([
        { m: mid(1), s: 'accepted' },
        { m: mid(2), s: 'rejected', r: 'not-in-audience' },
      ]);
      expect((await f.core.admin.get('team', 'bob'))?.memberCount).toBe(4);
    });

    it('refuses leaving when not a member and join of a c2c', async () => {
      const f = makeCore();
      await team(f);
      const c = await f.core.admin.createC2C('alice', 'bob');
      await expect(f.core.admin.leave('team', 'erin')).rejects.toThrow(expect.objectContaining({ code: 'not-member' }));
      await expect(f.core.admin.join(c.id, 'carol')).rejects.toThrow(expect.objectContaining({ code: 'invalid-argument' }));
      await expect(f.core.admin.join('nope', 'carol')).rejects.toThrow(expect.objectContaining({ code: 'not-found' }));
    });
  });
});
