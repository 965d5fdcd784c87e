import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/server/store/SqliteStore';
import type { MessageRecord } from '../../src/server/store/Store';
import { SQLITE_SCHEMA_VERSION } from '../../src/server/store/sqliteSchema';
import { expectUpgradedWalks, expectWalksAfterNewWrites } from './upgradeWalks';

describe('SqliteStore opens a database of an earlier schema version', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('adds reads.private, read positions and settings to a version-1 database, keeping its reads (public)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'readsync-upgrade-'));
    const file = join(dir, 'old.db');
    // The version-1 reads table, with a read in it.
    const old = new Database(file);
    old.exec(`CREATE TABLE reads (message_id TEXT NOT NULL, user_id TEXT NOT NULL, read_at INTEGER NOT NULL, ack_seq INTEGER NOT NULL, PRIMARY KEY (message_id, user_id)) WITHOUT ROWID;
      INSERT INTO reads VALUES ('m1', 'bob', 10, 1); PRAGMA user_version = 1;`);
    old.close();
    const store = new SqliteStore({ filename: file });
    expect(await store.getRead('m1', 'bob')).toEqual({ messageId: 'm1', userId: 'bob', readAt: 10, ackSeq: 1 });
    expect(await store.readsByUserAfter('bob', 0, 10)).toHaveLength(1);
    await store.putReadPosition({ convId: 'g', userId: 'bob', seq: 3, readAt: 5 });
    await store.putReceiptMode('bob', 'private');
    expect(await store.getReceiptMode('bob')).toBe('private');
    await store.close();
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    check.close();
    // Opening it again changes nothing.
    const again = new SqliteStore({ filename: file });
    expect(await again.getReadPosition('g', 'bob')).toMatchObject({ seq: 3 });
    await again.close();
  });

  it('adds deliveries to a version-3 database: every public read so far counts as delivered, private ones do not', async () => {
    dir = mkdtempSync(join(tmpdir(), 'readsync-upgrade-'));
    const file = join(dir, 'v3.db');
    // Version 3's messages (no delivered_count) and reads: bob and carol read m1 publicly, dave privately.
    const old = new Database(file);
    old.exec(`CREATE TABLE messages (id TEXT PRIMARY KEY, conv_id TEXT NOT NULL, conv_type TEXT NOT NULL, sender_id TEXT NOT NULL, text TEXT NOT NULL,
        need_receipt INTEGER NOT NULL, seq INTEGER NOT NULL, sent_at INTEGER NOT NULL, audience_count INTEGER NOT NULL, read_count INTEGER NOT NULL,
        last_read_at INTEGER NOT NULL, last_ack_seq INTEGER NOT NULL);
      CREATE TABLE reads (message_id TEXT NOT NULL, user_id TEXT NOT NULL, read_at INTEGER NOT NULL, ack_seq INTEGER NOT NULL, private INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (message_id, user_id)) WITHOUT ROWID;
      INSERT INTO messages VALUES ('m1', 'g', 'group', 'alice', 'hi', 1, 1, 100, 3, 2, 20, 3), ('m2', 'g', 'group', 'alice', 'yo', 1, 2, 100, 3, 0, 0, 0);
      INSERT INTO reads VALUES ('m1', 'bob', 10, 1, 0), ('m1', 'carol', 20, 2, 0), ('m1', 'dave', 30, 3, 1);
      PRAGMA user_version = 3;`);
    old.close();
    const store = new SqliteStore({ filename: file });
    expect(await store.getMessage('m1')).toMatchObject({ readCount: 2, deliveredCount: 2, lastAckSeq: 3 });
    expect(await store.getMessage('m2')).toMatchObject({ readCount: 0, deliveredCount: 0 });
    // The backfilled rows are deliveries like any: a repeat is skipped, a new one counts.
    expect(await store.insertDeliveries([{ messageId: 'm1', userId: 'bob', ackSeq: 4 }, { messageId: 'm1', userId: 'dave', ackSeq: 5 }])).toEqual(['m1']);
    expect(await store.deliveredUnread('m1', null, 10)).toEqual(['dave']);
    await store.close();
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    check.close();
    // Opening it again backfills nothing twice.
    const again = new SqliteStore({ filename: file });
    expect(await again.getMessage('m1')).toMatchObject({ deliveredCount: 2 });
    await again.close();
  });

  it('gives a version-4 database member ordinals (first-join order) and reader bitmaps from its spans and reads: unread walks are exact (issue 14)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'readsync-upgrade-'));
    const file = join(dir, 'v4.db');
    // Made with today's store, then the version-5 tables dropped: a version-4 database.
    const v4 = new SqliteStore({ filename: file });
    await v4.insertConversation({ id: 'team', type: 'group', groupType: 'work', name: 'Team', c2cUsers: null, seq: 6, memberCount: 6, createdAt: 1 });
    await v4.openSpans('team', ['alice', 'erin', 'bob', 'dave'], 0);
    await v4.closeSpan('team', 'dave', 1);
    await v4.openSpans('team', ['carol'], 2);
    await v4.insertMessage(message('m1', 3));
    await v4.openSpans('team', ['dave'], 4);
    await v4.insertMessage(message('m2', 5));
    await v4.openSpans('team', ['frank'], 6);
    await v4.insertReads([
      { messageId: 'm1', userId: 'bob', readAt: 1, ackSeq: 1 },
      { messageId: 'm2', userId: 'erin', readAt: 1, ackSeq: 2, private: true },
      { messageId: 'm2', userId: 'carol', readAt: 1, ackSeq: 3 },
    ]);
    await v4.close();
    const old = new Database(file);
    old.exec('DROP TABLE member_ordinals; DROP TABLE read_bits; PRAGMA user_version = 4;');
    old.close();

    const store = new SqliteStore({ filename: file });
    await expectUpgradedWalks(store);
    // After the upgrade: a new member gets the next ordinal, a new read sets its bit.
    await store.openSpans('team', ['gina'], 7);
    await store.insertReads([{ messageId: 'm2', userId: 'bob', readAt: 2, ackSeq: 4 }]);
    await store.insertMessage(message('m3', 8));
    await expectWalksAfterNewWrites(store);
    await store.close();
    // Opening it again fills nothing twice.
    const again = new SqliteStore({ filename: file });
    await expectWalksAfterNewWrites(again);
    await again.close();
  });
});

function message(id: string, seq: number): MessageRecord {
  return {
    id,
    convId: 'team',
    convType: 'group',
    senderId: 'alice',
    text: id,
    needReadReceipt: true,
    seq,
    sentAt: 1,
    audienceCount: 3,
    readCount: 0,
    deliveredCount: 0,
    lastReadAt: 0,
    lastAckSeq: 0,
  };
}
