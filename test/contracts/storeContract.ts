/**
 * The Store contract: MemoryStore and SqliteStore (and any future store, e.g.
 * PostgreSQL) must pass these. Run with `runStoreContractTests(name, makeStore)`.
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
  lastReadAt: 0,
  lastAckSeq: 0,
  ...extra,
});

export function runStoreContractTests(name: string, makeStore: () => Store): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    afterEach(() => store?.close());

    it('stores conversations, refuses a duplicate id, and updates seq and member count', () => {
      store = makeStore();
      store.insertConversation(conv('g1'));
      store.insertConversation(conv('c1', { type: 'c2c', groupType: null, name: '', c2cUsers: ['alice', 'bob'], memberCount: 2 }));
      expect(() => store.insertConversation(conv('g1'))).toThrow();
      store.updateConversation('g1', { seq: 7, memberCount: 42 });
      expect(store.getConversation('g1')).toEqual(conv('g1', { seq: 7, memberCount: 42 }));
      expect(store.getConversation('c1')?.c2cUsers).toEqual(['alice', 'bob']);
      expect(store.getConversation('nope')).toBeUndefined();
    });

    it('keeps membership as spans of the sequence: join, leave, rejoin', () => {
      store = makeStore();
      store.insertConversation(conv('g1'));
      store.insertConversation(conv('g2'));
      store.openSpans('g1', ['bob', 'alice'], 0);
      store.openSpans('g2', ['bob'], 0);
      store.closeSpan('g1', 'bob', 5);
      store.openSpans('g1', ['bob'], 9);
      expect(store.currentSpan('g1', 'bob')).toEqual({ convId: 'g1', userId: 'bob', joinedSeq: 9, leftSeq: null });
      expect(store.spanAt('g1', 'bob', 4)).toEqual({ convId: 'g1', userId: 'bob', joinedSeq: 0, leftSeq: 5 });
      expect(store.spanAt('g1', 'bob', 5)).toBeUndefined(); // left at 5
      expect(store.spanAt('g1', 'bob', 9)).toBeUndefined(); // joined at 9: member from 10 on
      expect(store.spanAt('g1', 'bob', 10)?.joinedSeq).toBe(9);
      expect(store.spanAt('g1', 'carol', 1)).toBeUndefined();
      expect(store.spansOf('g1', 'bob').map((x) => [x.joinedSeq, x.leftSeq])).toEqual([
        [0, 5],
        [9, null],
      ]);
      expect(store.spansOf('g1', 'carol')).toEqual([]);
      expect(store.conversationsOf('bob')).toEqual(['g1', 'g2']);
      store.closeSpan('g2', 'bob', 1);
      expect(store.conversationsOf('bob')).toEqual(['g1']);
      expect(store.currentSpan('g2', 'bob')).toBeUndefined();
      expect(() => store.closeSpan('g2', 'bob', 2)).toThrow();
    });

    it('lists the unread audience of a message in userId order, a range at a time', () => {
      store = makeStore();
      store.insertConversation(conv('g1'));
      store.openSpans('g1', ['alice', 'bob', 'carol', 'dave', 'erin', 'gina'], 0);
      store.closeSpan('g1', 'gina', 1); // left before the message
      store.openSpans('g1', ['frank'], 2); // joined before the message
      store.insertMessage(msg('m1', 'g1', 3));
      store.closeSpan('g1', 'erin', 4); // left after: still in the audience
      store.openSpans('g1', ['zed'], 5); // joined after: not in it
      store.insertReads([{ messageId: 'm1', userId: 'carol', readAt: 5, ackSeq: 1 }]);
      const m = { id: 'm1', convId: 'g1', seq: 3, senderId: 'alice' };
      expect(store.unreadAudience(m, null, 100)).toEqual(['bob', 'dave', 'erin', 'frank']);
      expect(store.unreadAudience(m, null, 2)).toEqual(['bob', 'dave']);
      expect(store.unreadAudience(m, 'dave', 2)).toEqual(['erin', 'frank']);
      expect(store.unreadAudience(m, 'frank', 2)).toEqual([]);
    });

    it('stores messages, pulls them by position, and keeps receipt counters', () => {
      store = makeStore();
      store.insertConversation(conv('g1'));
      for (const n of [1, 2, 3, 4]) store.insertMessage(msg(`m${n}`, 'g1', n, { needReadReceipt: n !== 2 }));
      expect(() => store.insertMessage(msg('m1', 'g1', 9))).toThrow();
      expect(store.messagesAfter('g1', 1, 2).map((x) => x.id)).toEqual(['m2', 'm3']);
      expect(store.messagesAfter('g1', 4, 10)).toEqual([]);
      expect(store.getMessage('m2')).toEqual(msg('m2', 'g1', 2, { needReadReceipt: false }));
      expect(store.getMessages(['m3', 'nope', 'm1', 'm3']).map((x) => x.id).sort()).toEqual(['m1', 'm3']);
      expect(store.getMessages([])).toEqual([]);
      store.updateReadStates([
        { messageId: 'm3', added: 1, lastReadAt: 50, lastAckSeq: 7 },
        { messageId: 'm1', added: 2, lastReadAt: 60, lastAckSeq: 9 },
      ]);
      store.updateReadStates([{ messageId: 'm4', added: 1, lastReadAt: 10, lastAckSeq: 3 }]);
      store.updateReadStates([]);
      expect(store.getMessage('m3')).toMatchObject({ readCount: 1, lastReadAt: 50, lastAckSeq: 7 });
      // relative: counts add up, times and cursors only move forward
      store.updateReadStates([{ messageId: 'm3', added: 2, lastReadAt: 40, lastAckSeq: 8 }]);
      expect(store.getMessage('m3')).toMatchObject({ readCount: 3, lastReadAt: 50, lastAckSeq: 8 });
      store.updateReadStates([{ messageId: 'm3', added: 0, lastReadAt: 70, lastAckSeq: 1 }]);
      expect(store.getMessage('m3')).toMatchObject({ readCount: 3, lastReadAt: 70, lastAckSeq: 8 });
      expect(store.receiptChangesOf('alice', 3, 10).map((x) => x.id)).toEqual(['m3', 'm1']);
      expect(store.receiptChangesOf('alice', 0, 2).map((x) => x.id)).toEqual(['m4', 'm3']);
      expect(store.receiptChangesOf('bob', 0, 10)).toEqual([]);
    });

    it('keeps one read per message and reader, listed in ack order', () => {
      store = makeStore();
      const inserted = store.insertReads([
        { messageId: 'm1', userId: 'zed', readAt: 5, ackSeq: 1 },
        { messageId: 'm1', userId: 'amy', readAt: 3, ackSeq: 2 },
        { messageId: 'm2', userId: 'zed', readAt: 4, ackSeq: 3 },
        { messageId: 'm1', userId: 'zed', readAt: 8, ackSeq: 4 }, // again in the same call: skipped
      ]);
      expect([...inserted].sort()).toEqual(['m1', 'm1', 'm2']);
      expect(store.insertReads([])).toEqual([]);
      // already stored: skipped, the stored read is kept as it was
      expect(store.insertReads([{ messageId: 'm1', userId: 'zed', readAt: 9, ackSeq: 5 }, { messageId: 'm3', userId: 'amy', readAt: 1, ackSeq: 6 }])).toEqual(['m3']);
      expect(store.getRead('m1', 'zed')).toEqual({ messageId: 'm1', userId: 'zed', readAt: 5, ackSeq: 1 });
      expect(store.readsAfter('m1', 0, 10).map((r) => r.userId)).toEqual(['zed', 'amy']);
      expect(store.readsAfter('m1', 1, 10).map((r) => r.userId)).toEqual(['amy']);
      expect(store.readsAfter('m3', 0, 10).map((r) => [r.userId, r.ackSeq])).toEqual([['amy', 6]]);
      expect(store.readsAfter('m4', 0, 10)).toEqual([]);
    });

    it('hands out increasing ack sequence numbers', () => {
      store = makeStore();
      expect(store.lastAckSeq()).toBe(0);
      expect(store.nextAckSeq()).toBe(1);
      expect(store.nextAckSeq()).toBe(2);
      expect(store.lastAckSeq()).toBe(2);
    });

    it('remembers ack batch results per user and forgets old ones', () => {
      store = makeStore();
      const res = { type: 'ack-batch-result' as const, batchId: 'b1', results: [{ m: 'm1', s: 'accepted' as const }] };
      store.putBatchResult('bob', 'b1', res, 100);
      store.putBatchResult('bob', 'b2', { ...res, batchId: 'b2' }, 200);
      expect(store.getBatchResult('bob', 'b1')).toEqual(res);
      expect(store.getBatchResult('carol', 'b1')).toBeUndefined();
      store.pruneBatchResults(150);
      expect(store.getBatchResult('bob', 'b1')).toBeUndefined();
      expect(store.getBatchResult('bob', 'b2')?.batchId).toBe('b2');
    });

    it('rolls back everything a failed transaction wrote; nested transactions join the outer one', () => {
      store = makeStore();
      store.insertConversation(conv('g1'));
      store.openSpans('g1', ['bob'], 0);
      store.insertMessage(msg('m1', 'g1', 1));
      expect(() =>
        store.transaction(() => {
          store.insertConversation(conv('g2'));
          store.openSpans('g1', ['carol'], 2);
          store.closeSpan('g1', 'bob', 2);
          store.updateConversation('g1', { seq: 2, memberCount: 9 });
          store.insertMessage(msg('m2', 'g1', 3));
          store.transaction(() => {
            const seq = store.nextAckSeq();
            store.insertReads([{ messageId: 'm1', userId: 'bob', readAt: 1, ackSeq: seq }]);
            store.updateReadStates([{ messageId: 'm1', added: 1, lastReadAt: 1, lastAckSeq: seq }]);
          });
          store.putBatchResult('bob', 'b1', { type: 'ack-batch-result', batchId: 'b1', results: [] }, 1);
          throw new Error('abort');
        }),
      ).toThrow('abort');
      expect(store.getConversation('g2')).toBeUndefined();
      expect(store.getConversation('g1')).toMatchObject({ seq: 0, memberCount: 0 });
      expect(store.currentSpan('g1', 'bob')).toBeDefined();
      expect(store.currentSpan('g1', 'carol')).toBeUndefined();
      expect(store.conversationsOf('carol')).toEqual([]);
      expect(store.getMessage('m2')).toBeUndefined();
      expect(store.getMessage('m1')).toMatchObject({ readCount: 0, lastAckSeq: 0 });
      expect(store.getRead('m1', 'bob')).toBeUndefined();
      expect(store.lastAckSeq()).toBe(0);
      expect(store.getBatchResult('bob', 'b1')).toBeUndefined();
      // and a committed one keeps everything
      store.transaction(() => store.openSpans('g1', ['carol'], 2));
      expect(store.conversationsOf('carol')).toEqual(['g1']);
    });
  });
}
