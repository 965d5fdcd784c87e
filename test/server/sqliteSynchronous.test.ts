import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/server/store/SqliteStore';

/** PRAGMA synchronous values: 1 = NORMAL, 2 = FULL. */
const NORMAL = 1;
const FULL = 2;

describe('SqliteStore durability (PRAGMA synchronous)', () => {
  let dir: string | undefined;
  const stores: SqliteStore[] = [];
  const open = (options: ConstructorParameters<typeof SqliteStore>[0] = {}) => {
    dir ??= mkdtempSync(join(tmpdir(), 'readsync-sync-'));
    const store = new SqliteStore({ filename: join(dir, `db-${stores.length}.sqlite`), ...options });
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('defaults to FULL in WAL mode, so a commit answered 200 survives power loss', () => {
    const store = open();
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(FULL);
  });

  it('takes NORMAL only as an explicit opt-in', () => {
    expect(open({ synchronous: 'normal' }).db.pragma('synchronous', { simple: true })).toBe(NORMAL);
    expect(open({ synchronous: 'full' }).db.pragma('synchronous', { simple: true })).toBe(FULL);
  });
});
