import type { LocalMessage } from '../bridge';
import type { LiveResult } from './liveStore';
import { useLive } from './useLive';

/** Options of `useMessages`. */
export interface UseMessagesOptions {
  /** Only the latest `limit` messages. */
  limit?: number;
}

/** The messages of one conversation, oldest first, as stored locally. */
export function useMessages(convId: string, options: UseMessagesOptions = {}): LiveResult<LocalMessage[]> {
  const { limit } = options;
  return useLive((client) => client.messages$(convId, limit === undefined ? {} : { limit }), [convId, limit]);
}
