/**
 * readsync, UI-thread entry: the client, the types it speaks, the protocol's
 * entities and errors. The worker is its own entry (`readsync/worker`), the
 * reference server another (`readsync/server`).
 */
export { createReadSyncClient, ReadSyncClient, createReadTracker } from './client';
export type { ReadSyncClientOptions, ClientEnvironment, ReadTracker, ReadTrackerClient, ReadTrackerOptions, ReadTrackerEnvironment } from './client';
// The bridge's types, not its functions (which only the worker and the client
// call). Named per module rather than `export type * from './bridge'`: the
// declaration bundler would publish that module's functions as values too.
export type * from './bridge/types';
export type { ErrorTransferOptions, PackedReadStates, ReadStateColumns, UpdateBatch } from './bridge';
export type {
  Conversation,
  ConvType,
  GroupType,
  Message,
  MessageReceipt,
  MemberFilter,
  ReadMember,
  ReadMemberPage,
  ReceiptMode,
  UserSettings,
  ServerConfig,
  Limits,
  ErrorCode,
  ErrorPayload,
} from './protocol';
export {
  ERROR_CODES,
  ReadSyncError,
  ValidationError,
  ProtocolError,
  ReceiptRuleError,
  AuthError,
  TransientError,
  StorageError,
  hasErrorCode,
  isErrorPayload,
  newMessageId,
  CONV_TYPES,
  GROUP_TYPES,
  DEFAULT_RECEIPT_GROUP_TYPES,
  DEFAULT_LIMITS,
  MAX_TEXT_LENGTH,
  PROTOCOL_VERSION,
} from './protocol';
