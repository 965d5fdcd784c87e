export * from './entities';
export * from './errors';
export * from './wire';
export * from './validate';
export type { SyncBackend } from './SyncBackend';
export { PROTOCOL_VERSION } from './version';
export { fastAckBatchResponse, fastReceiptsEvent, isMessageId, parseServerEvent } from './fastPaths';
