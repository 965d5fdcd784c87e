import * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { installErrorTransfer } from '../../src/bridge';
import { ReadSyncError, ValidationError } from '../../src/protocol';

// An app may use Comlink for its own workers next to readsync. Installing
// readsync's error handler must not change how their errors travel.

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

/** Exposes `api` on one end of a MessageChannel and wraps the other, as a worker and a page would. */
function connect<T extends object>(api: T): Comlink.Remote<T> {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  Comlink.expose(api, port1);
  return Comlink.wrap<T>(port2);
}

const appApi = {
  typeError(): void {
    throw new TypeError('app: bad thing');
  },
  rangeError(): void {
    throw new RangeError('app: out of range');
  },
  plainValue(): void {
    throw { reason: 'app-defined', retry: false };
  },
};
const readsyncApi = {
  refuse(): void {
    throw new ValidationError('count: at most 100', { limit: 100 });
  },
};

describe('readsync’s Comlink error handler next to an app’s own Comlink workers', () => {
  it('leaves an app’s errors as Comlink delivers them: Error instances with their name and message', async () => {
    const before = connect(appApi);
    const reference = await before.typeError().catch((e: unknown) => e);
    installErrorTransfer();
    const app = connect(appApi);
    const err = await app.typeError().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: 'TypeError', message: 'app: bad thing' });
    expect(err).not.toHaveProperty('code');
    expect(Object.keys(err as object).sort()).toEqual(Object.keys(reference as object).sort());
    await expect(app.rangeError()).rejects.toMatchObject({ name: 'RangeError', message: 'app: out of range' });
    await expect(app.plainValue()).rejects.toEqual({ reason: 'app-defined', retry: false });
  });

  it('still carries readsync’s errors whole: class, code and details', async () => {
    installErrorTransfer();
    const rs = connect(readsyncApi);
    const err = await rs.refuse().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadSyncError);
    expect(err).toMatchObject({ name: 'ValidationError', code: 'invalid-argument', message: 'count: at most 100', details: { limit: 100 } });
  });

  it('is idempotent: installing twice changes nothing', async () => {
    installErrorTransfer();
    installErrorTransfer();
    await expect(connect(appApi).typeError()).rejects.toMatchObject({ name: 'TypeError' });
    await expect(connect(readsyncApi).refuse()).rejects.toMatchObject({ code: 'invalid-argument' });
  });
});
