/**
 * readsync/server: the reference sync server, usable as a library
 * (`createSyncServer({ store, auth, config })`) or as a command (cli.ts).
 */
export { createSyncServer } from './createSyncServer';
export type { SyncServer, SyncServerConfig, SyncServerOptions } from './createSyncServer';
export { SyncCore, toMessage } from './core/SyncCore';
export type { SyncCoreOptions } from './core/SyncCore';
export { GroupAdmin, c2cId } from './core/GroupAdmin';
export type { CreateGroupInput } from './core/GroupAdmin';
export { TokenAuth } from './auth/TokenAuth';
export type { AuthenticatedUser, Authenticator, TokenAuthOptions } from './auth/TokenAuth';
export { MemoryStore } from './store/MemoryStore';
export { SqliteStore } from './store/SqliteStore';
export type { SqliteStoreOptions } from './store/SqliteStore';
export { PostgresStore, MissingPostgresDriverError, SchemaVersionError } from './store/PostgresStore';
export type { PostgresStoreOptions } from './store/PostgresStore';
export type { ChangeFeed, ChangeListener, ConversationRecord, MemberSpan, MessageRecord, ReadRecord, ReadStateUpdate, Store, StoreChange } from './store/Store';
export { HTTP_STATUS } from './http/httpStatus';
export { RateLimiter } from './http/RateLimiter';
export type { RateLimitOptions } from './http/RateLimiter';
export { seedDemo, DEMO_USERS } from './seedDemo';
