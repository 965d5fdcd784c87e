import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/server/store/SqliteStore';

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
    expect(check.pragma('user_version', { simple: true })).toBe(3);
    check.close();
    // Opening it again changes nothing.
    const again = new SqliteStore({ filename: file });
    expect(await again.getReadPosition('g', 'bob')).toMatchObject({ seq: 3 });
    await again.close();
  });
});
