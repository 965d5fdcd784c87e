import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { ReadSyncDb } from '../../worker/db/ReadSyncDb';
import { readMany } from '../../worker/store/readMany';

const row = (i: number) => ({ key: `k${String(i).padStart(5, '0')}`, value: i });

describe('readMany', () => {
  it('returns rows in the order asked, undefined where absent, on both the per-key and the whole-table path', async () => {
    const db = new ReadSyncDb('rm', { indexedDB: new IDBFactory(), IDBKeyRange });
    await db.meta.bulkPut(Array.from({ length: 2000 }, (_, i) => row(i)));
    for (const n of [10, 300, 1500]) {
      const keys = Array.from({ length: n }, (_, i) => row((i * 7) % 2000).key).reverse();
      keys.splice(3, 0, 'missing');
      const rows = await readMany(db.meta, keys);
      expect(rows).toHaveLength(keys.length);
      expect(rows[3]).toBeUndefined();
      rows.forEach((r, i) => {
        if (i !== 3) expect(r?.key).toBe(keys[i]);
      });
    }
    db.close();
  });
});
