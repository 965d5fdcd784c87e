/**
 * readsync/react: a provider and hooks over the client's observables, built on
 * `useSyncExternalStore`. React is an optional peer dependency of readsync:
 * only apps that import this entry need it.
 */
export { ReadSyncProvider, useReadSyncClient, type ReadSyncClientLike, type ReadSyncProviderProps } from './ReadSyncProvider';
export { useLive } from './useLive';
export type { LiveResult } from './liveStore';
export { useReadState } from './useReadState';
export { useMessages, type UseMessagesOptions } from './useMessages';
export { useConversations } from './useConversations';
export { useSyncStatus } from './useSyncStatus';
export { useReadMembers, type ReadMembersResult, type UseReadMembersOptions } from './useReadMembers';
export { useReadTracker, type TrackRef, type UseReadTrackerOptions } from './useReadTracker';
