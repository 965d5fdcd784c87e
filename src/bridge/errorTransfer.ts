import { transferHandlers, type TransferHandler } from 'comlink';
import { ReadSyncError, fromErrorPayload, isErrorPayload, toErrorPayload } from '../protocol';

/** Options of `installErrorTransfer`. */
export interface ErrorTransferOptions {
  /**
   * Send every error thrown in this realm as a readsync error (code `internal`
   * for foreign ones). Only the readsync worker sets it: that realm is ours.
   * On the UI thread (default) only readsync's own errors are wrapped.
   */
  wrapAll?: boolean;
}

type Serialized = { isError: boolean; value: unknown; readsync?: 1 };
type ThrowHandler = TransferHandler<{ value: unknown }, Serialized> & { readsync?: true };

/**
 * Comlink keeps only name, message and stack of a thrown Error. readsync's
 * errors cross as a full `ErrorPayload`, marked, and arrive as a
 * `ReadSyncError` with its `code`. Comlink has one global 'throw' handler per
 * realm, shared with every other Comlink user of the page, so everything that
 * is not readsync's (an app's own worker throwing a TypeError, say) is handed
 * to the handler that was installed before, unchanged.
 */
export function installErrorTransfer(options: ErrorTransferOptions = {}): void {
  const current = transferHandlers.get('throw') as ThrowHandler | undefined;
  if (!current) return;
  const base: ThrowHandler = current.readsync ? ((current as { base?: ThrowHandler }).base ?? current) : current;
  const wrapAll = options.wrapAll === true || (current.readsync === true && (current as { wrapAll?: boolean }).wrapAll === true);
  const handler: ThrowHandler & { base: ThrowHandler; wrapAll: boolean } = {
    readsync: true,
    base,
    wrapAll,
    canHandle: base.canHandle,
    serialize(thrown) {
      const { value } = thrown;
      if (wrapAll || value instanceof ReadSyncError) return [{ isError: true, value: toErrorPayload(value), readsync: 1 }, []];
      return base.serialize(thrown);
    },
    deserialize(serialized) {
      if (serialized.readsync === 1 && isErrorPayload(serialized.value)) throw fromErrorPayload(serialized.value);
      return base.deserialize(serialized);
    },
  };
  transferHandlers.set('throw', handler as unknown as TransferHandler<unknown, unknown>);
}
