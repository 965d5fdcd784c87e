import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { AckBatchResponse } from '../../src/protocol';
import { MessageMetaCache } from '../../src/server/core/MessageMetaCache';
import { MemoryStore } from '../../src/server/store/MemoryStore';
import { SqliteStore } from '../../src/server/store/SqliteStore';
import type { MessageRecord } from '../../src/server/store/Store';
import { forEachStore, makeCore, mid } from './coreFixture';

forEachStore(() => {
  describe('SyncCore: large ack batches', () => {
    it('answers each of 350 acks, with duplicates spread over the batch, and counts each read once', async () => {
      const f = makeCore({ limits: { maxAckBatch: 500 } });
      await f.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
      for (let i = 0; i < 300; i++) await f.send('alice', 'team', mid(i));
      // bob read some earlier; a later batch repeats a few of them and a few of its own acks
      await f.ack('bob', [mid(5), mid(150), mid(299)]);
      const ids = Array.from({ length: 300 }, (_, i) => mid(i));
      const repeats = [mid(0), mid(120), mid(250), mid(5), mid(299)];
      const res = await f.ack('bob', [...ids, ...repeats, ...Array.from({ length: 45 }, (_, i) => mid(1000 + i))]);
      expect(res.results).toHaveLength(350);
      const before = new Set([mid(5), mid(150), mid(299)]);
      for (const [i, r] of res.results.slice(0, 300).entries()) {
        expect(r).toEqual({ m: mid(i), s: before.has(mid(i)) ? 'duplicate' : 'accepted' });
      }
      expect(res.results.slice(300, 305)).toEqual(repeats.map((m) => ({ m, s: 'duplicate' })));
      expect(res.results.slice(305).every((r) => r.s === 'rejected' && r.r === 'not-found')).toBe(true);
      for (const i of [0, 5, 150, 299]) expect(await f.receipt('alice', mid(i))).toMatchObject({ readCount: 1, unreadCount: 1 });
      // carol's full batch makes every message read by all
      const all = await f.ack('carol', ids);
      expect(all.results.every((r) => r.s === 'accepted')).toBe(true);
      expect(await f.receipt('alice', mid(123))).toMatchObject({ readCount: 2, unreadCount: 0, isPeerRead: true });
    });
  });
});

describe('MessageMetaCache', () => {
  const message = (i: number): MessageRecord => ({
    id: mid(i),
    convId: 'c',
    convType: 'group',
    senderId: 'alice',
    text: 't',
    needReadReceipt: i % 2 === 0,
    seq: i + 1,
    sentAt: 1,
    audienceCount: 2,
    readCount: 0,
    deliveredCount: 0,
    lastReadAt: 0,
    lastAckSeq: 0,
  });

  it('reads a message from the store once while it stays in use, and stays bounded', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 100; i++) await store.insertMessage(message(i));
    const fetched: string[] = [];
    const getMessages = store.getMessages.bind(store);
    store.getMessages = (ids) => {
      fetched.push(...ids);
      return getMessages(ids);
    };
    const cache = new MessageMetaCache(10);
    const hot = [mid(1), mid(2)];
    expect(await cache.get(store, [...hot, mid(404)])).toEqual([
      { id: mid(1), convId: 'c', senderId: 'alice', seq: 2, needReadReceipt: false },
      { id: mid(2), convId: 'c', senderId: 'alice', seq: 3, needReadReceipt: true },
      undefined,
    ]);
    // many other messages pass through; the two used all along are never read again
    for (let i = 10; i < 100; i++) expect((await cache.get(store, [...hot, mid(i)])).map((m) => m?.seq)).toEqual([2, 3, i + 1]);
    expect(fetched.filter((id) => hot.includes(id))).toEqual(hot);
    // one not used for a long time is gone and read again
    fetched.length = 0;
    expect((await cache.get(store, [mid(10)]))[0]?.seq).toBe(11);
    expect(fetched).toEqual([mid(10)]);
  });
});

describe('stored ack batch results', () => {
  const result: AckBatchResponse = {
    type: 'ack-batch-result',
    batchId: 'batch-0001',
    results: [
      { m: mid(1), s: 'accepted' },
      { m: mid(2), s: 'duplicate' },
      { m: mid(3), s: 'rejected', r: 'not-in-audience' },
      { m: mid(4), s: 'accepted' },
      { m: mid(5), s: 'rejected', r: 'own-message' },
    ],
  };

  it.each([
    ['MemoryStore', () => new MemoryStore()],
    ['SqliteStore', () => new SqliteStore()],
  ])('come back from %s exactly as given, every status and reason in order', async (_, make) => {
    const store = make();
    await store.putBatchResult('bob', 'batch-0001', result, 1);
    await store.putBatchResult('bob', 'batch-0002', { type: 'ack-batch-result', batchId: 'batch-0002', results: [] }, 1);
    expect(await store.getBatchResult('bob', 'batch-0001')).toEqual(result);
    expect(await store.getBatchResult('bob', 'batch-0002')).toEqual({ type: 'ack-batch-result', batchId: 'batch-0002', results: [] });
    await store.close();
  });

  it('are still read when stored as full JSON by an earlier version', async () => {
    const store = new SqliteStore();
    store.db.prepare('INSERT INTO batches (user_id, batch_id, result, at) VALUES (?, ?, ?, ?)').run('bob', 'batch-0001', JSON.stringify(result), 1);
    expect(await store.getBatchResult('bob', 'batch-0001')).toEqual(result);
    await store.close();
  });
});

describe('SqliteStore counter updates', () => {
  const msg = (id: string, seq: number): MessageRecord => ({
    id,
    convId: 'c',
    convType: 'group',
    senderId: 'alice',
    text: 't',
    needReadReceipt: true,
    seq,
    sentAt: 1,
    audienceCount: 5,
    readCount: 0,
    deliveredCount: 0,
    lastReadAt: 0,
    lastAckSeq: 0,
  });
  const one = (messageId: string, ackSeq: number) => ({ messageId, added: 1, delivered: 0, lastReadAt: ackSeq, lastAckSeq: ackSeq });

  it('land on the right message after a rolled-back insert freed its row for another', async () => {
    const store = new SqliteStore();
    await expect(
      store.transaction(async (tx) => {
        await tx.insertMessage(msg(mid(1), 1));
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await store.insertMessage(msg(mid(2), 2)); // takes the row the rolled-back message had
    await store.transaction((tx) => tx.updateReadStates([one(mid(1), 1)])); // no such message: nothing moves
    await store.transaction((tx) => tx.updateReadStates([one(mid(2), 2)]));
    expect(await store.getMessage(mid(2))).toMatchObject({ readCount: 1, lastAckSeq: 2 });
    expect(await store.getMessage(mid(1))).toBeUndefined();
    await store.close();
  });

  it('land on the right message after another connection moved rows around', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'readsync-'));
    try {
      const filename = join(dir, 'db.sqlite');
      const store = new SqliteStore({ filename });
      await store.transaction(async (tx) => {
        await tx.insertMessage(msg(mid(1), 1));
        await tx.insertMessage(msg(mid(2), 2));
      });
      await store.transaction((tx) => tx.updateReadStates([one(mid(1), 1), one(mid(2), 2)]));
      // e.g. a VACUUM elsewhere: the two messages swap rowids
      const other = new Database(filename);
      other.exec(`UPDATE messages SET rowid = rowid + 1000 WHERE id = '${mid(1)}';
        UPDATE messages SET rowid = rowid - 1 WHERE id = '${mid(2)}';`);
      other.close();
      await store.transaction((tx) => tx.updateReadStates([one(mid(1), 3)]));
      expect(await store.getMessage(mid(1))).toMatchObject({ readCount: 2, lastAckSeq: 3 });
      expect(await store.getMessage(mid(2))).toMatchObject({ readCount: 1, lastAckSeq: 2 });
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
