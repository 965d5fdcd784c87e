import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore, createSyncServer, type SyncServer } from '../../src/server';

/** What the workloads need from the server side. */
export interface BenchServer {
  /** Origin serving the bench page and the sync API (same origin: no CORS preflight on either side). */
  url: string;
  /** The reference server (dev mode), for seeding conversations and issuing tokens. */
  sync: SyncServer;
  /** A bearer token for `userId`. */
  token(userId: string): string;
  close(): Promise<void>;
}

/** Starts the reference server on loopback (port 0) with an on-disk SQLite store, serving the built page. */
export async function startBenchServer(staticDir: string): Promise<BenchServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'readsync-bench-db-'));
  const store = new SqliteStore({ filename: path.join(dir, 'bench.db') });
  const sync = await createSyncServer({ store, config: { devMode: true, staticDir, secret: 'readsync-bench-secret' } });
  const { url } = await sync.listen(0, '127.0.0.1');
  const issue = sync.auth.issue?.bind(sync.auth);
  if (!issue) throw new Error('bench: the server auth cannot issue tokens');
  return {
    url,
    sync,
    token: (userId) => issue(userId),
    async close() {
      await sync.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
