import { TransientError } from '../../src/protocol';

/**
 * Races `promise` against a timer (setTimeout, so fake timers drive it). On
 * timeout it rejects with a retryable `network` error; a late answer is
 * ignored, which is safe because every request the outbox sends is idempotent.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientError('network', `no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
