import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SyncCore } from '../../src/server/core/SyncCore';
import { MemoryStore } from '../../src/server/store/MemoryStore';
import { SqliteStore } from '../../src/server/store/SqliteStore';
import { runStoreContractTests } from '../contracts/storeContract';

runStoreContractTests('MemoryStore', () => new MemoryStore());
runStoreContractTests('SqliteStore (:memory:)', () => new SqliteStore());

describe('SqliteStore on a file', () => {
  it('keeps conversations, messages, reads and the ack cursor across a reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'readsync-'));
    try {
      const filename = join(dir, 'db.sqlite');
      const first = new SyncCore(new SqliteStore({ filename }), { secret: 's' });
      await first.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
      await first.sendMessages('alice', { type: 'send-messages', messages: [{ id: 'msg00001', convId: 'team', text: 'hi', needReadReceipt: true, createdAt: 1 }] });
      await first.ackBatch('bob', { type: 'ack-batch', batchId: 'batch-001', acks: [{ m: 'msg00001', t: 5 }] });
      await first.store.close();

      const second = new SyncCore(new SqliteStore({ filename }), { secret: 's' });
      expect((await second.queryReceipts('alice', { type: 'receipt-query', messageIds: ['msg00001'] })).receipts[0]).toMatchObject({ readCount: 1, unreadCount: 1, timestamp: 5 });
      expect(await second.store.lastAckSeq()).toBe(1);
      // the replayed batch is still recognised after the restart
      const replay = await second.ackBatch('bob', { type: 'ack-batch', batchId: 'batch-001', acks: [{ m: 'msg00001', t: 5 }] });
      expect(replay.results).toEqual([{ m: 'msg00001', s: 'accepted' }]);
      // a duplicate takes a sequence number too; the cursor a client saw must not be reused after a restart
      await second.ackBatch('bob', { type: 'ack-batch', batchId: 'batch-002', acks: [{ m: 'msg00001', t: 5 }] });
      const seen = await second.store.lastAckSeq();
      expect(seen).toBeGreaterThanOrEqual(1);
      await second.store.close();

      const third = new SyncCore(new SqliteStore({ filename }), { secret: 's' });
      expect(await third.store.lastAckSeq()).toBe(seen);
      await third.ackBatch('carol', { type: 'ack-batch', batchId: 'batch-003', acks: [{ m: 'msg00001', t: 6 }] });
      expect((await third.store.getRead('msg00001', 'carol'))?.ackSeq).toBeGreaterThan(seen);
      await third.store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
