import { expose } from 'comlink';
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createReadSyncClient } from '../../src/client';
import type { ReadSyncError } from '../../src/protocol';
import { FakeWorkerApi } from './FakeWorkerApi';

// A worker that never answers (a wrong script, a hung start) must not leave the
// app waiting forever: every call settles with `worker-failed`.

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

function silentWorker() {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  port1.start(); // receives and ignores everything, like a script that is not readsync's worker
  return port2;
}

const options = { userId: 'bob', token: 't', serverUrl: 'http://localhost', environment: false as const };

describe('a worker that does not answer', () => {
  it('rejects pending and later calls with worker-failed, errors observables, reports once on error$', async () => {
    const client = createReadSyncClient({ ...options, worker: silentWorker(), init: true, startTimeoutMs: 30 });
    const errors: ReadSyncError[] = [];
    client.error$.subscribe((e) => errors.push(e));
    const pending = client.markRead('msgAAAAAAAAAAAA1');
    const status = firstValueFrom(client.syncStatus$);
    await expect(pending).rejects.toMatchObject({ code: 'worker-failed', name: 'ReadSyncError' });
    await expect(status).rejects.toMatchObject({ code: 'worker-failed' });
    await expect(client.sendMessage({ convId: 'c1', text: 'hi' })).rejects.toMatchObject({ code: 'worker-failed' });
    await expect(firstValueFrom(client.readState$('msgAAAAAAAAAAAA1'))).rejects.toMatchObject({ code: 'worker-failed' });
    expect(errors.map((e) => e.code)).toEqual(['worker-failed']);
    expect(errors[0]?.message).toMatch(/did not answer within 30 ms/);
    // close() does not wait for a worker that will never answer.
    await client.close();
    await expect(client.flush()).rejects.toMatchObject({ code: 'closed' });
  });

  it('keeps a working worker working: the timeout ends once it answers', async () => {
    const fake = new FakeWorkerApi();
    const { port1, port2 } = new MessageChannel();
    ports.push(port1, port2);
    expose(fake, port1);
    // A timeout a loaded CI machine cannot miss for a worker that answers (30 ms failed once at load 10).
    const client = createReadSyncClient({ ...options, worker: port2, init: true, startTimeoutMs: 1_000 });
    const errors: ReadSyncError[] = [];
    client.error$.subscribe((e) => errors.push(e));
    await client.flush();
    await new Promise((r) => setTimeout(r, 1_100)); // past the start timeout
    await client.flush();
    expect(errors).toEqual([]);
    await client.close();
  });
});
