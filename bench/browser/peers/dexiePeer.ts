/** Peer: Dexie with one `liveQuery(() => table.get(id))` per message, on the page. */
import Dexie, { liveQuery, type Subscription, type Table } from 'dexie';
import { eachUntil, withReadCount, type Peer, type PeerRow, type PeerSession } from './PeerSession';

export const dexiePeer: Peer = {
  key: 'dexie',
  name: 'Dexie liveQuery per message',
  async open(tag, rows) {
    const dbName = `peer-dexie-${tag}`;
    await Dexie.delete(dbName);
    const db = new Dexie(dbName);
    db.version(1).stores({ rows: 'id' });
    const table = db.table('rows') as Table<PeerRow, string>;
    await table.bulkPut(rows);
    const subs: Subscription[] = [];
    const session: PeerSession = {
      dbMatch: dbName,
      subscribe(onValue, deadline) {
        return eachUntil(rows, deadline, (r, i) => {
          subs.push(liveQuery(() => table.get(r.id)).subscribe({ next: (row) => row && onValue(i, row.readCount), error: (e: unknown) => console.error(`dexie liveQuery: ${String(e)}`) }));
        });
      },
      async prepare(indices, readCount) {
        const changed = withReadCount(rows, indices, readCount);
        const only = changed[0];
        // One row: `update`, as an app would apply one receipt; many: one bulkPut.
        return changed.length === 1 && only ? () => table.update(only.id, { readCount, unreadCount: only.unreadCount, timestamp: only.timestamp }) : () => table.bulkPut(changed);
      },
      async close() {
        for (const s of subs) s.unsubscribe();
        db.close();
        await Dexie.delete(dbName);
      },
    };
    return session;
  },
};
