export { createReadSyncClient, type ReadSyncClientOptions } from './createReadSyncClient';
export { ReadSyncClient } from './ReadSyncClient';
export type { ClientEnvironment } from './forwardEnvironment';
