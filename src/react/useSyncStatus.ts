import type { SyncStatus } from '../bridge';
import type { LiveResult } from './liveStore';
import { useLive } from './useLive';

/** Connection (`'online' | 'offline' | 'connecting' | 'needs-auth'`), pending and failed counts. */
export function useSyncStatus(): LiveResult<SyncStatus> {
  return useLive((client) => client.syncStatus$, []);
}
