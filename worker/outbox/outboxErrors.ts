import { StorageError, type ErrorPayload } from '../../src/protocol';

/** The error stored on an item the server refused, with its reason as `code`. */
export function rejection(reason: string, what: 'read receipt' | 'read position' | 'delivery' | 'message' | 'settings change'): ErrorPayload {
  return { name: 'ReceiptRuleError', code: reason as ErrorPayload['code'], message: `${what} refused by the server: ${reason}` };
}

/** Runs an outbox operation, rethrowing an IndexedDB failure as a `StorageError` saying what could not be done. */
export async function guardStorage<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    const name = err instanceof Error ? err.name : 'Error';
    const message = err instanceof Error ? err.message : String(err);
    throw new StorageError(`could not ${what}: ${name}: ${message}`, err);
  }
}
