export type * from './types';
export { installErrorTransfer, type ErrorTransferOptions } from './errorTransfer';
export { packUpdates, unpackUpdates } from './updateBatch';
export type { ReadStateColumns, UpdateBatch } from './updateBatch';
