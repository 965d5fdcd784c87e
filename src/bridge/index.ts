export type * from './types';
export { installErrorTransfer } from './errorTransfer';
