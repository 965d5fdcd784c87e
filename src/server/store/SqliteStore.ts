import type Database from 'better-sqlite3';
import { SqliteOps } from './SqliteOps';
import type { SqliteStoreOptions } from './SqliteOps';
import { SynchronousStore } from './SynchronousStore';

export type { SqliteStoreOptions } from './SqliteOps';

/**
 * The embedded `Store`: SQLite through better-sqlite3, one process (see
 * `SqliteOps` for the statements and indexes). better-sqlite3 is synchronous:
 * every call runs at once and returns a settled promise, and transactions are
 * queued so they never interleave (`SynchronousStore`). It assumes it is the
 * database's only writer: the ack sequence lives in memory, and the rowid
 * cache is trusted only inside its own transactions. Several processes share
 * a `PostgresStore` instead.
 */
export class SqliteStore extends SynchronousStore {
  /** The database handle (pragmas, inspection in tests). */
  readonly db: Database.Database;

  constructor(options: SqliteStoreOptions = {}) {
    const ops = new SqliteOps(options);
    super(ops);
    this.db = ops.db;
  }
}
