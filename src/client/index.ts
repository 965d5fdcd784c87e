export { createReadSyncClient, type ReadSyncClientOptions } from './createReadSyncClient';
export { ReadSyncClient } from './ReadSyncClient';
export type { ClientEnvironment } from './forwardEnvironment';
export { createReadTracker, type ReadTracker, type ReadTrackerClient, type ReadTrackerOptions } from './createReadTracker';
export type { ReadTrackerEnvironment } from './readTrackerEnvironment';
