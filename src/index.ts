/**
 * readsync, UI-thread entry: the client, the types it speaks, the protocol's
 * entities and errors. The worker is its own entry (`readsync/worker`), the
 * reference server another (`readsync/server`).
 */
export { createReadSyncClient, ReadSyncClient } from './client';
export type { ReadSyncClientOptions, ClientEnvironment } from './client';
export type * from './bridge';
export type {
  Conversation,
  ConvType,
  GroupType,
  Message,
  MessageReceipt,
  MemberFilter,
  ReadMember,
  ReadMemberPage,
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
