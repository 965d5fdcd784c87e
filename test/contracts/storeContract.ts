/**
 * The Store contract: MemoryStore, SqliteStore and PostgresStore (and any
 * future store) must pass these. Run with `runStoreContractTests(name, makeStore)`;
 * `makeStore` gives a fresh, empty store each time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConversationRecord, MessageRecord, Store } from '../../src/server/store/Store';

const conv = (id: string, extra: Partial<ConversationRecord> = {}): ConversationRecord => ({
  id,
  type: 'group',
  groupType: 'work',
  name: `Group ${id}`,
  c2cUsers: null,
  seq: 0,
  memberCount: 0,
  createdAt: 1,
  ...extra,
});

const msg = (id: string, convId: string, seq: number, extra: Partial<MessageRecord> = {}): MessageRecord => ({
  id,
  convId,
  convType: 'group',
  senderId: 'alice',
  text: `text ${id}`,
  needReadReceipt: true,
  seq,
  sentAt: 100 + seq,
  audienceCount: 3,
  readCount: 0,
  deliveredCount: 0,
  lastReadAt: 0,
  lastAckSeq: 0,
  ...extra,
});

export function runStoreContractTests(name: string, makeStore: () => Store | Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    afterEach(() => store?.close());

    it('stores conversations, refuses a duplicate id, and updates seq and member count', async () => {
      store = await makeStore();
      await store.insertConversation(conv('g1'));
      await store.insertConversation(conv('c1', { type: 'c2c', groupType: null, name: '', c2cUsers: ['alice', 'bob'], memberCount: 2 }));
      await expect(store.insertConversation(conv('g1'))).rejects.toThrow();
      await store.updateConversation('g1', { seq: 7, memberCount: 42 });
      expect(await store.getConversation('g1')).toEqual(conv('g1', { seq: 7, memberCount: 42 }));
      expect((await store.getConversation('c1'))?.c2cUsers).toEqual(['alice', 'bob']);
      expect(await store.getConversation('nope')).toBeUndefined();
    });

    it('keeps membership as spans of the sequence: join, leave, rejoin', async () => {
      store = await makeStore();
      await store.insertConversation(conv('g1'));
      await store.insertConversation(conv('g2'));
      await store.openSpans('g1', ['bob', 'alice'], 0);
      await store.openSpans('g2', ['bob'], 0);
      await store.closeSpan('g1', 'bob', 5);
      await store.openSpans('g1', ['bob'], 9);
      expect(await store.currentSpan('g1', 'bob')).toEqual({ convId: 'g1', userId: 'bob', joinedSeq: 9, leftSeq: null });
      expect(await store.spanAt('g1', 'bob', 4)).toEqual({ convId: 'g1', userId: 'bob', joinedSeq: 0, leftSeq: 5 });
      expect(await store.spanAt('g1', 'bob', 5)).toBeUndefined(); // left at 5
      expect(await store.spanAt('g1', 'bob', 9)).toBeUndefined(); // joined at 9: member from 10 on
      expect((await store.spanAt('g1', 'bob', 10))?.joinedSeq).toBe(9);
      expect(await store.spanAt('g1', 'carol', 1)).toBeUndefined();
      expect((await store.spansOf('g1', 'bob')).map((x) => [x.joinedSeq, x.leftSeq])).toEqual([
        [0, 5],
        [9, null],
      ]);
      expect(await store.spansOf('g1', 'carol')).toEqual([]);
      expect(await store.conversationsOf('bob')).toEqual(['g1', 'g2']);
      await store.closeSpan('g2', 'bob', 1);
      expect(await store.conversationsOf('bob')).toEqual(['g1']);
      expect(await store.currentSpan('g2', 'bob')).toBeUndefined();
      await expect(store.closeSpan('g2', 'bob', 2)).rejects.toThrow();
    });

    it('lists the unread audience of a message in join order (ordinals), a range at a time', async () => {
      store = await makeStore();
      await store.insertConversation(conv('g1'));
      // Ordinals follow first joins, in the order given: alice 0, dave 1, bob 2, carol 3, erin 4, gina 5, hal 6.
      await store.openSpans('g1', ['alice', 'dave', 'bob', 'carol', 'erin', 'gina', 'hal'], 0);
      await store.closeSpan('g1', 'gina', 1); // left before the message
      await store.closeSpan('g1', 'hal', 1);
      await store.openSpans('g1', ['hal'], 2); // left and came back before it: keeps ordinal 6
      await store.openSpans('g1', ['frank'], 2); // joined before the message: 7
      await store.insertMessage(msg('m1', 'g1', 3));
      await store.closeSpan('g1', 'erin', 4); // left after: still in the audience
      await store.openSpans('g1', ['zed'], 5); // joined after: not in it
      await store.insertReads([{ messageId: 'm1', userId: 'carol', readAt: 5, ackSeq: 1 }]);
      const m = { id: 'm1', convId: 'g1', seq: 3, senderId: 'alice' };
      const unread = [
        { userId: 'dave', ordinal: 1 },
        { userId: 'bob', ordinal: 2 },
        { userId: 'erin', ordinal: 4 },
        { userId: 'hal', ordinal: 6 },
        { userId: 'frank', ordinal: 7 },
      ];
      expect(await store.unreadAudience(m, null, 100)).toEqual(unread);
      expect(await store.unreadAudience(m, null, 2)).toEqual(unread.slice(0, 2));
      expect(await store.unreadAudience(m, 2, 2)).toEqual(unread.slice(2, 4));
      expect(await store.unreadAudience(m, 6, 2)).toEqual(unread.slice(4));
      expect(await store.unreadAudience(m, 7, 2)).toEqual([]);
      // At a snapshot before carol's read she is unread; at or after it she is not.
      expect((await store.unreadAudience(m, null, 100, 0)).map((x) => x.userId)).toEqual(['dave', 'bob', 'carol', 'erin', 'hal', 'frank']);
      expect(await store.unreadAudience(m, null, 100, 1)).toEqual(unread);
      expect(await store.unreadAudience({ ...m, id: 'nope' }, null, 100)).toEqual([...unread.slice(0, 2), { userId: 'carol', ordinal: 3 }, ...unread.slice(2)]);
    });

    it('finds the unread members of a large group exactly, across bitmap chunks, at a snapshot', async () => {
      store = await makeStore();
      const n = 2_500; // three chunks of 1,024
      const users = Array.from({ length: n }, (_, i) => `u${String(i).padStart(5, '0')}`);
      await store.insertConversation(conv('g1', { seq: 2, memberCount: n + 1 }));
      await store.openSpans('g1', ['alice', ...users], 0);
      await store.insertMessage(msg('m1', 'g1', 2));
      // Everyone reads but every 97th member, and all of the second chunk's members but its last.
      const readers = users.filter((_, i) => i % 97 !== 0 && i !== 2046);
      const first = await store.reserveAckSeqs(readers.length);
      for (let i = 0; i < readers.length; i += 400) {
        await store.insertReads(readers.slice(i, i + 400).map((u, j) => ({ messageId: 'm1', userId: u, readAt: 1, ackSeq: first + i + j })));
      }
      const expected = users.filter((_, i) => i % 97 === 0 || i === 2046);
      const m = { id: 'm1', convId: 'g1', seq: 2, senderId: 'alice' };
      const walk = async (asOf?: number): Promise<string[]> => {
        const out: string[] = [];
        let after: number | null = null;
        for (;;) {
          const page = await store.unreadAudience(m, after, 40, asOf);
          out.push(...page.map((x) => x.userId));
          if (page.length < 40) return out;
          after = page[page.length - 1]!.ordinal;
        }
      };
      expect(await walk()).toEqual(expected);
      // At a snapshot taken before the last 400 reads, their readers are unread again.
      const before = first + readers.length - 401;
      const late = new Set(readers.slice(readers.length - 400));
      expect(await walk(before)).toEqual(users.filter((u) => expected.includes(u) || late.has(u)));
    });

    it('stores messages, pulls them by position, and keeps receipt counters', async () => {
      store = await makeStore();
      await store.insertConversation(conv('g1'));
      for (const n of [1, 2, 3, 4]) await store.insertMessage(msg(`m${n}`, 'g1', n, { needReadReceipt: n !== 2 }));
      await expect(store.insertMessage(msg('m1', 'g1', 9))).rejects.toThrow();
      expect((await store.messagesAfter('g1', 1, 2)).map((x) => x.id)).toEqual(['m2', 'm3']);
      expect(await store.messagesAfter('g1', 4, 10)).toEqual([]);
      expect(await store.getMessage('m2')).toEqual(msg('m2', 'g1', 2, { needReadReceipt: false }));
      expect((await store.getMessages(['m3', 'nope', 'm1', 'm3'])).map((x) => x.id).sort()).toEqual(['m1', 'm3']);
      expect(await store.getMessages([])).toEqual([]);
      await store.updateReadStates([
        { messageId: 'm3', added: 1, delivered: 0, lastReadAt: 50, lastAckSeq: 7 },
        { messageId: 'm1', added: 2, delivered: 0, lastReadAt: 60, lastAckSeq: 9 },
      ]);
      await store.updateReadStates([{ messageId: 'm4', added: 1, delivered: 0, lastReadAt: 10, lastAckSeq: 3 }]);
      await store.updateReadStates([]);
      expect(await store.getMessage('m3')).toMatchObject({ readCount: 1, lastReadAt: 50, lastAckSeq: 7 });
      // relative: counts add up, times and cursors only move forward
      await store.updateReadStates([{ messageId: 'm3', added: 2, delivered: 0, lastReadAt: 40, lastAckSeq: 8 }]);
      expect(await store.getMessage('m3')).toMatchObject({ readCount: 3, lastReadAt: 50, lastAckSeq: 8 });
      await store.updateReadStates([{ messageId: 'm3', added: 0, delivered: 0, lastReadAt: 70, lastAckSeq: 1 }]);
      expect(await store.getMessage('m3')).toMatchObject({ readCount: 3, lastReadAt: 70, lastAckSeq: 8 });
      expect((await store.receiptChangesOf('alice', 3, 10)).map((x) => x.id)).toEqual(['m3', 'm1']);
      expect((await store.receiptChangesOf('alice', 0, 2)).map((x) => x.id)).toEqual(['m4', 'm3']);
      expect(await store.receiptChangesOf('bob', 0, 10)).toEqual([]);
    });

    it('pages back through a conversation: the newest messages before a position, ascending', async () => {
      store = await makeStore();
      await store.insertConversation(conv('g1'));
      await store.insertConversation(conv('g2'));
      // Positions 4 and 7 are membership changes: no message there.
      for (const n of [1, 2, 3, 5, 6, 8]) await store.insertMessage(msg(`m${n}`, 'g1', n));
      await store.insertMessage(msg('other', 'g2', 9));
      await store.updateReadStates([{ messageId: 'm5', added: 1, delivered: 0, lastReadAt: 50, lastAckSeq: 3 }]);
      const ids = async (before: number, limit: number) => (await store.messagesBefore('g1', before, limit)).map((x) => x.id);
      expect(await ids(100, 3)).toEqual(['m5', 'm6', 'm8']);
      expect(await ids(8, 3)).toEqual(['m3', 'm5', 'm6']);
      expect(await ids(4, 10)).toEqual(['m1', 'm2', 'm3']);
      expect(await ids(1, 10)).toEqual([]);
      expect(await store.messagesBefore('nope', 100, 10)).toEqual([]);
      expect((await store.messagesBefore('g1', 6, 1))[0]).toEqual(msg('m5', 'g1', 5, { readCount: 1, lastReadAt: 50, lastAckSeq: 3 }));
    });

    it('keeps one read per message and reader, listed in ack order', async () => {
      store = await makeStore();
      const inserted = await store.insertReads([
        { messageId: 'm1', userId: 'zed', readAt: 5, ackSeq: 1 },
        { messageId: 'm1', userId: 'amy', readAt: 3, ackSeq: 2 },
        { messageId: 'm2', userId: 'zed', readAt: 4, ackSeq: 3 },
        { messageId: 'm1', userId: 'zed', readAt: 8, ackSeq: 4 }, // again in the same call: skipped
      ]);
      expect([...inserted].sort()).toEqual(['m1', 'm1', 'm2']);
      expect(await store.insertReads([])).toEqual([]);
      // already stored: skipped, the stored read is kept as it was
      expect(await store.insertReads([{ messageId: 'm1', userId: 'zed', readAt: 9, ackSeq: 5 }, { messageId: 'm3', userId: 'amy', readAt: 1, ackSeq: 6 }])).toEqual(['m3']);
      expect(await store.getRead('m1', 'zed')).toEqual({ messageId: 'm1', userId: 'zed', readAt: 5, ackSeq: 1 });
      expect((await store.readsAfter('m1', 0, 10)).map((r) => r.userId)).toEqual(['zed', 'amy']);
      expect((await store.readsAfter('m1', 1, 10)).map((r) => r.userId)).toEqual(['amy']);
      expect((await store.readsAfter('m3', 0, 10)).map((r) => [r.userId, r.ackSeq])).toEqual([['amy', 6]]);
      expect(await store.readsAfter('m4', 0, 10)).toEqual([]);
    });

    it('lists the messages of a range that asked for receipts and were sent by others, as references', async () => {
      store = await makeStore();
      await store.insertConversation(conv('g1'));
      await store.insertConversation(conv('g2'));
      await store.insertMessage(msg('r1', 'g1', 1));
      await store.insertMessage(msg('r2', 'g1', 2, { needReadReceipt: false }));
      await store.insertMessage(msg('r3', 'g1', 4, { senderId: 'bob' }));
      await store.insertMessage(msg('r4', 'g1', 5, { senderId: 'carol' }));
      await store.insertMessage(msg('r5', 'g1', 7));
      await store.insertMessage(msg('x1', 'g2', 3));
      expect(await store.receiptMessagesInRange('g1', 0, 7, 'bob', 10)).toEqual([
        { id: 'r1', senderId: 'alice', seq: 1 },
        { id: 'r4', senderId: 'carol', seq: 5 },
        { id: 'r5', senderId: 'alice', seq: 7 },
      ]);
      expect((await store.receiptMessagesInRange('g1', 1, 5, 'bob', 10)).map((m) => m.id)).toEqual(['r4']);
      expect((await store.receiptMessagesInRange('g1', 0, 7, 'bob', 2)).map((m) => m.id)).toEqual(['r1', 'r4']);
      expect(await store.receiptMessagesInRange('g1', 7, 100, 'bob', 10)).toEqual([]);
    });

    it("keeps a user's own reads findable by user in ack order, and looks up a page of them", async () => {
      store = await makeStore();
      await store.insertConversation(conv('g1'));
      for (let i = 1; i <= 4; i++) await store.insertMessage(msg(`m${i}`, 'g1', i));
      const first = await store.reserveAckSeqs(4);
      await store.insertReads([
        { messageId: 'm3', userId: 'bob', readAt: 30, ackSeq: first },
        { messageId: 'm1', userId: 'carol', readAt: 10, ackSeq: first + 1 },
        { messageId: 'm1', userId: 'bob', readAt: 11, ackSeq: first + 2 },
        { messageId: 'm2', userId: 'bob', readAt: 20, ackSeq: first + 3 },
      ]);
      const bobs = await store.readsByUserAfter('bob', 0, 10);
      expect(bobs.map((r) => [r.messageId, r.readAt])).toEqual([['m3', 30], ['m1', 11], ['m2', 20]]);
      expect((await store.readsByUserAfter('bob', first, 1)).map((r) => r.messageId)).toEqual(['m1']);
      expect(await store.readsByUserAfter('bob', first + 3, 10)).toEqual([]);
      expect(await store.readsByUserAfter('dave', 0, 10)).toEqual([]);
      const some = await store.readsOf('bob', ['m1', 'm2', 'm4', 'nope']);
      expect(some.map((r) => r.messageId).sort()).toEqual(['m1', 'm2']);
      expect(await store.readsOf('bob', [])).toEqual([]);
      // A read that was skipped as a duplicate is not listed twice.
      const again = await store.reserveAckSeqs(1);
      expect(await store.insertReads([{ messageId: 'm1', userId: 'bob', readAt: 99, ackSeq: again }])).toEqual([]);
      expect((await store.readsByUserAfter('bob', 0, 10)).map((r) => r.messageId)).toEqual(['m3', 'm1', 'm2']);
    });

    it('keeps private reads out of read lists and counts them as unread, but returns them as the user’s own reads; stores the receipt mode', async () => {
      store = await makeStore();
      await store.insertConversation(conv('g1', { seq: 1, memberCount: 3 }));
      await store.openSpans('g1', ['alice', 'bob', 'carol'], 0);
      await store.insertMessage(msg('m1', 'g1', 1));
      const first = await store.reserveAckSeqs(2);
      expect(
        await store.insertReads([
          { messageId: 'm1', userId: 'bob', readAt: 10, ackSeq: first, private: true },
          { messageId: 'm1', userId: 'carol', readAt: 20, ackSeq: first + 1 },
        ]),
      ).toEqual(['m1', 'm1']);
      expect((await store.readsAfter('m1', 0, 10)).map((r) => r.userId)).toEqual(['carol']);
      expect((await store.unreadAudience({ id: 'm1', convId: 'g1', seq: 1, senderId: 'alice' }, null, 10)).map((x) => x.userId)).toEqual(['bob']);
      expect(await store.readsByUserAfter('bob', 0, 10)).toEqual([{ messageId: 'm1', userId: 'bob', readAt: 10, ackSeq: first, private: true }]);
      expect(await store.readsOf('carol', ['m1'])).toEqual([{ messageId: 'm1', userId: 'carol', readAt: 20, ackSeq: first + 1 }]);
      expect(await store.getRead('m1', 'bob')).toMatchObject({ private: true });
      // Once stored private, a public read of the same message is a duplicate.
      const again = await store.reserveAckSeqs(1);
      expect(await store.insertReads([{ messageId: 'm1', userId: 'bob', readAt: 30, ackSeq: again }])).toEqual([]);
      expect(await store.getReceiptMode('bob')).toBe('public');
      await store.putReceiptMode('bob', 'private');
      expect(await store.getReceiptMode('bob')).toBe('private');
      await store.putReceiptMode('bob', 'public');
      expect(await store.getReceiptMode('bob')).toBe('public');
    });

    it('keeps one delivery per message and user, counts them with the receipt counters, and lists the delivered-but-unread by userId at a snapshot', async () => {
      store = await makeStore();
      await store.insertConversation(conv('g1'));
      await store.insertMessage(msg('m1', 'g1', 1));
      await store.insertMessage(msg('m2', 'g1', 2));
      const first = await store.reserveAckSeqs(7);
      // Rows are skipped when stored, earlier in the same call included; ids come back once per row that went in.
      expect(
        await store.insertDeliveries([
          { messageId: 'm1', userId: 'erin', ackSeq: first },
          { messageId: 'm1', userId: 'bob', ackSeq: first + 1 },
          { messageId: 'm2', userId: 'bob', ackSeq: first + 2 },
          { messageId: 'm1', userId: 'bob', ackSeq: first + 3 },
        ]),
      ).toEqual(['m1', 'm1', 'm2']);
      expect(await store.insertDeliveries([{ messageId: 'm1', userId: 'bob', ackSeq: first + 4 }])).toEqual([]);
      expect(await store.insertDeliveries([])).toEqual([]);
      // Two rows out of three new: only those come back.
      expect(
        await store.insertDeliveries([
          { messageId: 'm2', userId: 'bob', ackSeq: first + 4 },
          { messageId: 'm2', userId: 'carol', ackSeq: first + 5 },
          { messageId: 'm1', userId: 'carol', ackSeq: first + 6 },
        ]),
      ).toEqual(['m2', 'm1']);
      // Counters: deliveries and reads add up separately, in one update.
      await store.updateReadStates([
        { messageId: 'm1', added: 0, delivered: 3, lastReadAt: 0, lastAckSeq: first + 6 },
        { messageId: 'm2', added: 1, delivered: 1, lastReadAt: 40, lastAckSeq: first + 5 },
      ]);
      expect(await store.getMessage('m1')).toMatchObject({ readCount: 0, deliveredCount: 3, lastReadAt: 0, lastAckSeq: first + 6 });
      expect(await store.getMessage('m2')).toMatchObject({ readCount: 1, deliveredCount: 1, lastReadAt: 40, lastAckSeq: first + 5 });
      // Delivered but unread: carol read m1 publicly (after the deliveries), erin privately.
      const readSeq = await store.reserveAckSeqs(2);
      await store.insertReads([
        { messageId: 'm1', userId: 'carol', readAt: 50, ackSeq: readSeq },
        { messageId: 'm1', userId: 'erin', readAt: 60, ackSeq: readSeq + 1, private: true },
      ]);
      expect(await store.deliveredUnread('m1', null, 10)).toEqual(['bob', 'erin']);
      expect(await store.deliveredUnread('m1', null, 1)).toEqual(['bob']);
      expect(await store.deliveredUnread('m1', 'bob', 10)).toEqual(['erin']);
      expect(await store.deliveredUnread('m1', 'erin', 10)).toEqual([]);
      // At a snapshot before carol's read she was delivered and unread; before bob's delivery he was not delivered.
      expect(await store.deliveredUnread('m1', null, 10, readSeq - 1)).toEqual(['bob', 'carol', 'erin']);
      expect(await store.deliveredUnread('m1', null, 10, first)).toEqual(['erin']);
      expect(await store.deliveredUnread('nope', null, 10)).toEqual([]);
      // Rolled back with their transaction.
      await expect(
        store.transaction(async (tx) => {
          await tx.insertDeliveries([{ messageId: 'm2', userId: 'dave', ackSeq: readSeq + 2 }]);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await store.deliveredUnread('m2', null, 10)).toEqual(['bob', 'carol']);
      expect(await store.insertDeliveries([{ messageId: 'm2', userId: 'dave', ackSeq: readSeq + 3 }])).toEqual(['m2']);
    });

    it('stores read positions per user and conversation, replaced in place, and rolled back with their transaction', async () => {
      store = await makeStore();
      expect(await store.getReadPosition('g1', 'bob')).toBeUndefined();
      await store.putReadPosition({ convId: 'g1', userId: 'bob', seq: 5, readAt: 50 });
      await store.putReadPosition({ convId: 'g2', userId: 'bob', seq: 2, readAt: 20 });
      await store.putReadPosition({ convId: 'g1', userId: 'carol', seq: 1, readAt: 10 });
      await store.putReadPosition({ convId: 'g1', userId: 'bob', seq: 9, readAt: 90 });
      expect(await store.getReadPosition('g1', 'bob')).toEqual({ convId: 'g1', userId: 'bob', seq: 9, readAt: 90 });
      const mine = await store.readPositionsOf('bob', ['g1', 'g2', 'g3']);
      expect(mine.sort((a, b) => a.convId.localeCompare(b.convId))).toEqual([
        { convId: 'g1', userId: 'bob', seq: 9, readAt: 90 },
        { convId: 'g2', userId: 'bob', seq: 2, readAt: 20 },
      ]);
      expect(await store.readPositionsOf('bob', [])).toEqual([]);
      await expect(
        store.transaction(async (tx) => {
          await tx.putReadPosition({ convId: 'g1', userId: 'bob', seq: 12, readAt: 120 });
          await tx.putReadPosition({ convId: 'g4', userId: 'bob', seq: 1, readAt: 1 });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.getReadPosition('g1', 'bob')).toMatchObject({ seq: 9 });
      expect(await store.getReadPosition('g4', 'bob')).toBeUndefined();
    });

    it('hands out increasing ack sequence numbers, in ranges', async () => {
      store = await makeStore();
      expect(await store.lastAckSeq()).toBe(0);
      expect(await store.reserveAckSeqs(1)).toBe(1);
      expect(await store.reserveAckSeqs(3)).toBe(2);
      expect(await store.lastAckSeq()).toBe(4);
      expect(await store.transaction((tx) => tx.reserveAckSeqs(2))).toBe(5);
      expect(await store.lastAckSeq()).toBe(6);
    });

    it('tells which of some users are members now, or left at a given position', async () => {
      store = await makeStore();
      await store.insertConversation(conv('g1'));
      await store.openSpans('g1', ['amy', 'bob', 'cat', 'dan'], 0);
      await store.closeSpan('g1', 'bob', 3);
      await store.closeSpan('g1', 'cat', 5);
      await store.closeSpan('g1', 'dan', 2);
      await store.openSpans('g1', ['dan'], 4); // left and came back
      const among = async (users: string[], leftAt?: number) => (await store.membersAmong('g1', users, leftAt)).sort();
      expect(await among(['amy', 'bob', 'cat', 'dan', 'eve'])).toEqual(['amy', 'dan']);
      expect(await among(['amy', 'bob', 'cat', 'dan', 'eve'], 5)).toEqual(['amy', 'cat', 'dan']);
      expect(await among(['dan'], 2)).toEqual(['dan']);
      expect(await among([])).toEqual([]);
      expect(await store.membersAmong('nope', ['amy'])).toEqual([]);
    });

    it('remembers ack batch results per user and forgets old ones', async () => {
      store = await makeStore();
      const res = { type: 'ack-batch-result' as const, batchId: 'b1', results: [{ m: 'm1', s: 'accepted' as const }] };
      await store.putBatchResult('bob', 'b1', res, 100);
      await store.putBatchResult('bob', 'b2', { ...res, batchId: 'b2' }, 200);
      expect(await store.getBatchResult('bob', 'b1')).toEqual(res);
      expect(await store.getBatchResult('carol', 'b1')).toBeUndefined();
      await store.pruneBatchResults(150);
      expect(await store.getBatchResult('bob', 'b1')).toBeUndefined();
      expect((await store.getBatchResult('bob', 'b2'))?.batchId).toBe('b2');
    });

    it('rolls back everything a failed transaction wrote; nested transactions join the outer one', async () => {
      store = await makeStore();
      await store.insertConversation(conv('g1'));
      await store.openSpans('g1', ['bob'], 0);
      await store.insertMessage(msg('m1', 'g1', 1));
      await expect(
        store.transaction(async (tx) => {
          await tx.insertConversation(conv('g2'));
          await tx.openSpans('g1', ['carol'], 2);
          await tx.closeSpan('g1', 'bob', 2);
          await tx.updateConversation('g1', { seq: 2, memberCount: 9 });
          await tx.insertMessage(msg('m2', 'g1', 3));
          await tx.transaction(async (inner) => {
            const seq = await inner.reserveAckSeqs(1);
            await inner.insertReads([{ messageId: 'm1', userId: 'bob', readAt: 1, ackSeq: seq }]);
            await inner.updateReadStates([{ messageId: 'm1', added: 1, delivered: 0, lastReadAt: 1, lastAckSeq: seq }]);
          });
          await tx.putBatchResult('bob', 'b1', { type: 'ack-batch-result', batchId: 'b1', results: [] }, 1);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await store.getConversation('g2')).toBeUndefined();
      expect(await store.getConversation('g1')).toMatchObject({ seq: 0, memberCount: 0 });
      expect(await store.currentSpan('g1', 'bob')).toBeDefined();
      expect(await store.currentSpan('g1', 'carol')).toBeUndefined();
      expect(await store.conversationsOf('carol')).toEqual([]);
      expect(await store.getMessage('m2')).toBeUndefined();
      expect(await store.getMessage('m1')).toMatchObject({ readCount: 0, lastAckSeq: 0 });
      expect(await store.getRead('m1', 'bob')).toBeUndefined();
      expect(await store.lastAckSeq()).toBe(0);
      expect(await store.getBatchResult('bob', 'b1')).toBeUndefined();
      // and a committed one keeps everything
      await store.transaction((tx) => tx.openSpans('g1', ['carol'], 2));
      expect(await store.conversationsOf('carol')).toEqual(['g1']);
    });

    it('never shows a transaction’s writes outside it before it commits, nor mixes two transactions', async () => {
      store = await makeStore();
      await store.insertConversation(conv('g1'));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let inside!: () => void;
      const started = new Promise<void>((resolve) => (inside = resolve));
      const first = store.transaction(async (tx) => {
        await tx.updateConversation('g1', { seq: 1, memberCount: 1 });
        const seq = await tx.reserveAckSeqs(2);
        inside();
        await gate;
        return seq;
      });
      await started;
      // A second transaction reads the conversation and takes ack numbers while the first is open.
      const second = store.transaction(async (tx) => {
        const c = await tx.getConversation('g1');
        await tx.updateConversation('g1', { seq: (c?.seq ?? 0) + 1, memberCount: 2 });
        return tx.reserveAckSeqs(2);
      });
      const outside = store.getConversation('g1');
      const ackOutside = store.lastAckSeq();
      release();
      const [a, b] = await Promise.all([first, second]);
      expect([a, b]).toEqual([1, 3]); // committed in the order they were taken
      // What was read outside is either before the first commit or after it, never half of it.
      expect([0, 1, 2]).toContain((await outside)?.seq);
      expect([0, 2, 4]).toContain(await ackOutside);
      expect(await store.getConversation('g1')).toMatchObject({ seq: 2, memberCount: 2 });
      expect(await store.lastAckSeq()).toBe(4);
    });
  });
}
