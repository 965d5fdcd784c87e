/**
 * The run-time entry of `readsync/server` (its types are those of
 * ../index.ts). The server's packages are optional peers, so this checks that
 * they are installed, naming the install command when not, and only then loads
 * the server: `export * from '../index'` would fail at link time, before any
 * check could run.
 */
import type * as Server from '../index';
import type * as Entry from './index';
import { requireServerPackages } from './requireServerPackages';

await requireServerPackages('readsync/server');
const server: typeof Server = await import('../index');

export const {
  createSyncServer,
  SyncCore,
  toMessage,
  GroupAdmin,
  c2cId,
  TokenAuth,
  MemoryStore,
  SqliteStore,
  PostgresStore,
  MissingPostgresDriverError,
  SchemaVersionError,
  HTTP_STATUS,
  RateLimiter,
  seedDemo,
  DEMO_USERS,
} = server;

// A value exported by ../index but not listed above fails the typecheck here, naming it.
const _everyExportListed: never = undefined as unknown as Exclude<keyof typeof Server, keyof typeof Entry>;
