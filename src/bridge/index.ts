export type * from './types';
export { installErrorTransfer, type ErrorTransferOptions } from './errorTransfer';
export { packUpdates, unpackRange, unpackUpdates, updateCount } from './updateBatch';
export type { PackedReadStates, ReadStateColumns, UpdateBatch } from './updateBatch';
export { createNextTask, nextTask, type TaskScheduler } from './nextTask';
