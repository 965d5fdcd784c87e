import { transferHandlers, type TransferHandler } from 'comlink';
import { fromErrorPayload, isErrorPayload, toErrorPayload } from '../protocol';

/**
 * Comlink keeps only name, message and stack of a thrown Error. Both sides
 * install this handler so a rejection crosses as a full `ErrorPayload` and
 * arrives as a `ReadSyncError` with its `code`.
 */
export function installErrorTransfer(): void {
  const base = transferHandlers.get('throw');
  if (!base || (base as { readsync?: true }).readsync) return;
  const handler: TransferHandler<{ value: unknown }, { isError: boolean; value: unknown }> & { readsync: true } = {
    readsync: true,
    canHandle: base.canHandle as TransferHandler<{ value: unknown }, unknown>['canHandle'],
    serialize({ value }) {
      return [{ isError: true, value: toErrorPayload(value) }, []];
    },
    deserialize(serialized) {
      throw isErrorPayload(serialized.value) ? fromErrorPayload(serialized.value) : serialized.value;
    },
  };
  transferHandlers.set('throw', handler as unknown as TransferHandler<unknown, unknown>);
}
