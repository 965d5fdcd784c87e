/**
 * Peers: TanStack DB (`@tanstack/db`) on the page. The IndexedDB collection
 * is TanStack DB's own (`createIndexedDB` + `indexedDBCollectionOptions`):
 * rows live in memory, every mutation is applied optimistically, then
 * persisted to IndexedDB in one readwrite transaction and confirmed.
 *
 * - `tanstack-idb-each`: one live query per message (`where id = …`, findOne).
 * - `tanstack-idb-all`: one live query over all rows; each message's
 *   subscriber is a callback keyed by id, fed from that query's changes
 *   (what a list component does for its rows).
 * - `tanstack-memory`: the same over an in-memory (local-only) collection,
 *   for reference: nothing durable.
 */
import {
  createCollection,
  createIndexedDB,
  createLiveQueryCollection,
  deleteDatabase,
  eq,
  indexedDBCollectionOptions,
  localOnlyCollectionOptions,
  type ChangeMessage,
  type Collection,
} from '@tanstack/db';
import { eachUntil, withReadCount, type Peer, type PeerRow, type PeerSession } from './PeerSession';

type Rows = Collection<PeerRow, string>;
type Shape = 'each' | 'all';

interface Opened {
  rows: Rows;
  dbMatch: string | null;
  loadMs: number;
  dispose(): Promise<void>;
}

async function openIdb(tag: string, seed: PeerRow[], variant: string): Promise<Opened> {
  const name = `peer-${variant}-${tag}`;
  await deleteDatabase(name).catch(() => undefined);
  const db = await createIndexedDB({ name, version: 1, stores: ['rows'] });
  // Seeding (untimed): the rows written to IndexedDB, then a fresh load from it as at app start.
  const seeder = createCollection(indexedDBCollectionOptions<PeerRow, string>({ id: `${name}-seed`, db, name: 'rows', getKey: (r) => r.id }));
  await seeder.utils.importData(seed);
  await seeder.cleanup();
  const rows = createCollection(indexedDBCollectionOptions<PeerRow, string>({ db, name: 'rows', getKey: (r) => r.id })) as unknown as Rows;
  const t0 = performance.now();
  await rows.preload();
  const loadMs = performance.now() - t0;
  if (rows.size !== seed.length) throw new Error(`${variant}: loaded ${rows.size} of ${seed.length} rows`);
  return {
    rows,
    dbMatch: name,
    loadMs,
    async dispose() {
      await rows.cleanup();
      db.close();
      await deleteDatabase(name).catch(() => undefined);
    },
  };
}

async function openMemory(seed: PeerRow[]): Promise<Opened> {
  const rows = createCollection(localOnlyCollectionOptions<PeerRow, string>({ getKey: (r) => r.id, initialData: seed })) as unknown as Rows;
  const t0 = performance.now();
  await rows.preload();
  return { rows, dbMatch: null, loadMs: performance.now() - t0, dispose: () => rows.cleanup() };
}

function session(o: Opened, seed: PeerRow[], shape: Shape): PeerSession {
  const disposers: (() => unknown)[] = [];
  return {
    dbMatch: o.dbMatch,
    loadMs: o.loadMs,
    subscribe(onValue, deadline) {
      if (shape === 'each') {
        return eachUntil(seed, deadline, (r, i) => {
          const q = createLiveQueryCollection({ query: (b) => b.from({ r: o.rows }).where(({ r: row }) => eq(row.id, r.id)).findOne(), startSync: true });
          const sub = q.subscribeChanges(
            (changes: ChangeMessage<PeerRow>[]) => {
              for (const c of changes) if (c.type !== 'delete') onValue(i, c.value.readCount);
            },
            { includeInitialState: true },
          );
          disposers.push(() => sub.unsubscribe(), () => q.cleanup());
        });
      }
      // One live query over all rows; the subscriber per message is a callback keyed by id.
      const index = new Map(seed.map((r, i) => [r.id, i]));
      const all = createLiveQueryCollection({ query: (b) => b.from({ r: o.rows }), startSync: true });
      const sub = all.subscribeChanges(
        (changes: ChangeMessage<PeerRow>[]) => {
          for (const c of changes) {
            const i = c.type === 'delete' ? undefined : index.get(c.value.id);
            if (i !== undefined) onValue(i, c.value.readCount);
          }
        },
        { includeInitialState: true },
      );
      disposers.push(() => sub.unsubscribe(), () => all.cleanup());
      return seed.length;
    },
    async prepare(indices, readCount) {
      const changed = withReadCount(seed, indices, readCount);
      const byId = new Map(changed.map((r) => [r.id, r]));
      const keys = changed.map((r) => r.id);
      const apply = (d: PeerRow) => {
        const r = byId.get(d.id) as PeerRow;
        d.readCount = r.readCount;
        d.unreadCount = r.unreadCount;
        d.timestamp = r.timestamp;
      };
      return () => {
        const tx = keys.length === 1 ? o.rows.update(keys[0] as string, apply) : o.rows.update(keys, (drafts) => drafts.forEach(apply));
        return tx.isPersisted.promise;
      };
    },
    async close() {
      for (const d of disposers) await d();
      await o.dispose();
    },
  };
}

export const tanstackIdbEach: Peer = {
  key: 'tanstack-idb-each',
  name: 'TanStack DB, IndexedDB, query per msg',
  async open(tag, rows) {
    return session(await openIdb(tag, rows, 'tanstack-idb-each'), rows, 'each');
  },
};

export const tanstackIdbAll: Peer = {
  key: 'tanstack-idb-all',
  name: 'TanStack DB, IndexedDB, one query',
  async open(tag, rows) {
    return session(await openIdb(tag, rows, 'tanstack-idb-all'), rows, 'all');
  },
};

export const tanstackMemory: Peer = {
  key: 'tanstack-memory',
  name: 'TanStack DB, in memory, one query (ref.)',
  async open(_tag, rows) {
    return session(await openMemory(rows), rows, 'all');
  },
};
