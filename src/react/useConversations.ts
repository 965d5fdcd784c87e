import type { Conversation } from '../protocol';
import type { LiveResult } from './liveStore';
import { useLive } from './useLive';

/** The user's conversations, as stored locally. */
export function useConversations(): LiveResult<Conversation[]> {
  return useLive((client) => client.conversations$, []);
}
