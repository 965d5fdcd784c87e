import type { ConversationSummary } from '../bridge';
import type { LiveResult } from './liveStore';
import { useLive } from './useLive';

/** The user's conversations, as stored locally, with my unread counts, last messages and read positions. */
export function useConversations(): LiveResult<ConversationSummary[]> {
  return useLive((client) => client.conversations$, []);
}
