/**
 * Peer: RxDB (open-source core, no premium plugin, no dev-mode) with its
 * Dexie storage (`rxdb/plugins/storage-dexie`), default database options;
 * one `findOne(id).$` subscription per message, on the page.
 */
import { createRxDatabase, type RxCollection, type RxDatabase, type RxJsonSchema } from 'rxdb';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import type { Subscription } from 'rxjs';
import { eachUntil, withReadCount, type Peer, type PeerRow, type PeerSession } from './PeerSession';

const schema: RxJsonSchema<PeerRow> = {
  version: 0,
  primaryKey: 'id',
  type: 'object',
  properties: {
    id: { type: 'string', maxLength: 40 },
    convId: { type: 'string' },
    readCount: { type: 'number' },
    unreadCount: { type: 'number' },
    timestamp: { type: 'number' },
  },
  required: ['id', 'convId', 'readCount', 'unreadCount', 'timestamp'],
};

export const rxdbPeer: Peer = {
  key: 'rxdb',
  name: 'RxDB (Dexie storage) findOne(id).$',
  async open(tag, rows) {
    // RxDB database names: lowercase letters, digits and a few signs.
    const name = `peerrxdb${tag.toLowerCase().replace(/[^a-z0-9]/g, '')}`;
    const db: RxDatabase<{ rows: RxCollection<PeerRow> }> = await createRxDatabase({ name, storage: getRxStorageDexie() });
    await db.addCollections({ rows: { schema } });
    const coll = db.rows;
    const res = await coll.bulkInsert(rows);
    if (res.error.length > 0) throw new Error(`rxdb: ${res.error.length} inserts failed`);
    const subs: Subscription[] = [];
    const session: PeerSession = {
      dbMatch: name,
      subscribe(onValue, deadline) {
        return eachUntil(rows, deadline, (r, i) => {
          subs.push(coll.findOne(r.id).$.subscribe((doc) => doc && onValue(i, doc.readCount)));
        });
      },
      async prepare(indices, readCount) {
        const changed = withReadCount(rows, indices, readCount);
        const only = changed[0];
        return changed.length === 1 && only ? () => coll.upsert(only) : () => coll.bulkUpsert(changed);
      },
      async close() {
        for (const s of subs) s.unsubscribe();
        await db.remove();
      },
    };
    return session;
  },
};
