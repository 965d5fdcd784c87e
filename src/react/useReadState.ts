import type { ReadState } from '../bridge';
import type { LiveResult } from './liveStore';
import { useLive } from './useLive';

/** The live receipt line of one message (`data.label`: "Sent", "Delivered", "Read", "2 read · 3 unread"…; `data.deliveredCount`); `data` is null while the message is unknown here. */
export function useReadState(messageId: string): LiveResult<ReadState | null> {
  return useLive((client) => client.readState$(messageId), [messageId]);
}
