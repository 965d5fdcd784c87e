import { expose } from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import type { Observable } from 'rxjs';
import { createReadSyncClient, type ReadSyncClient } from '../../src/client';
import { FakeWorkerApi } from './FakeWorkerApi';

// A closed client is an ended stream, not a failure: UI code (React's StrictMode
// remount, a component that subscribes while the user signs out) may subscribe
// to it, and must see its observables complete, never error. Calls still reject
// with `closed` (a promise has to settle one way).

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

function client(): ReadSyncClient {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  expose(new FakeWorkerApi(), port1);
  return createReadSyncClient({ worker: port2, userId: 'bob', token: 't', serverUrl: 'http://localhost', environment: false });
}

type Outcome = { values: unknown[]; completed: boolean; error: unknown };

function outcome(source: Observable<unknown>): Outcome {
  const o: Outcome = { values: [], completed: false, error: undefined };
  source.subscribe({ next: (v) => o.values.push(v), complete: () => (o.completed = true), error: (e: unknown) => (o.error = e) });
  return o;
}

describe('a closed client', () => {
  it('completes every observable subscribed after close(), at once and without an error', async () => {
    const c = client();
    await c.close();
    const all = [c.readState$('msgAAAAAAAAAAAA1'), c.messages$('c1'), c.conversations$, c.syncStatus$, c.receipts$, c.error$];
    for (const source of all) expect(outcome(source)).toEqual({ values: [], completed: true, error: undefined });
    expect(c.liveSubscriptions).toBe(0);
  });

  it('completes observables subscribed while close() is under way', async () => {
    const c = client();
    const closing = c.close();
    const o = outcome(c.syncStatus$);
    await closing;
    expect(o).toEqual({ values: [], completed: true, error: undefined });
  });

  it('still rejects calls with code closed', async () => {
    const c = client();
    await c.close();
    await expect(c.markRead('msgAAAAAAAAAAAA1')).rejects.toMatchObject({ code: 'closed' });
  });
});
