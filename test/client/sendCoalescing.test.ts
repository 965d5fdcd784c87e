import { afterEach, describe, expect, it } from 'vitest';
import { expose } from 'comlink';
import { createReadSyncClient, type ReadSyncClient } from '../../src/client';
import { ReadSyncError, StorageError } from '../../src/protocol';
import type { LocalMessage, SendMessageInput } from '../../src/bridge';
import { FakeWorkerApi } from './FakeWorkerApi';

/**
 * sendMessage calls made in one task reach the worker as ONE call
 * (`sendMessageEach`), and each caller still gets its own answer: its
 * message, or its own typed error.
 */
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

function setup(): { fake: FakeWorkerApi; client: ReadSyncClient } {
  const fake = new FakeWorkerApi();
  const { port1, port2 } = new MessageChannel();
  expose(fake, port1);
  const client = createReadSyncClient({ worker: port2, userId: 'bob', token: 't', serverUrl: 'http://localhost', environment: false });
  cleanup.push(async () => {
    await client.close();
    port1.close();
    port2.close();
  });
  return { fake, client };
}

const input = (text: string, extra: Partial<SendMessageInput> = {}): SendMessageInput => ({ convId: 'c1', text, ...extra });

/** Each promise's outcome: the message's text, or the error's code. */
function outcomes(calls: Promise<LocalMessage>[]): Promise<string[]> {
  return Promise.all(calls.map((p) => p.then((m) => `ok:${m.text}`, (e: unknown) => `${e instanceof ReadSyncError ? e.code : 'not-readsync'}`)));
}

describe('ReadSyncClient: concurrent sendMessage calls coalesced', () => {
  it('1,000 calls of one task: one worker call, each caller resolved with its own message, in call order', async () => {
    const { fake, client } = setup();
    const calls = Array.from({ length: 1000 }, (_, i) => client.sendMessage(input(`m${i}`)));
    const messages = await Promise.all(calls);
    expect(messages.map((m) => m.text)).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`));
    expect(new Set(messages.map((m) => m.id)).size).toBe(1000);
    expect(fake.sendCalls).toEqual([{ method: 'sendMessageEach', texts: Array.from({ length: 1000 }, (_, i) => `m${i}`) }]);
    expect(fake.stored).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`));
  });

  it('a bad call rejects with its own typed error; the calls around it are stored', async () => {
    const { fake, client } = setup();
    const calls = [
      client.sendMessage(input('a')),
      client.sendMessage(input(42 as unknown as string)),
      client.sendMessage(input('b')),
      client.sendMessage({ convId: 'hangout', text: 'c', needReadReceipt: true }),
      client.sendMessage(input('d')),
    ];
    expect(await outcomes(calls)).toEqual(['ok:a', 'invalid-argument', 'ok:b', 'receipts-disabled', 'ok:d']);
    const err = await calls[3]?.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadSyncError);
    expect(err).toMatchObject({ name: 'ReceiptRuleError', code: 'receipts-disabled', message: 'sendMessage: hangout does not take read receipts' });
    expect(fake.sendCalls).toHaveLength(1);
    expect(fake.stored).toEqual(['a', 'b', 'd']);
  });

  it('a lone call goes as sendMessage, as before', async () => {
    const { fake, client } = setup();
    expect((await client.sendMessage(input('alone'))).text).toBe('alone');
    expect(await client.sendMessage(input(7 as unknown as string)).catch((e: ReadSyncError) => e.code)).toBe('invalid-argument');
    expect(fake.sendCalls.map((c) => c.method)).toEqual(['sendMessage', 'sendMessage']);
  });

  it('keeps call order with sendMessages and non-plain inputs in the same task', async () => {
    const { fake, client } = setup();
    class Draft {
      constructor(
        readonly convId: string,
        readonly text: string,
      ) {}
    }
    const calls: Promise<unknown>[] = [
      client.sendMessage(input('1')),
      client.sendMessage(input('2')),
      client.sendMessages([input('3'), input('4')]),
      client.sendMessage(input('5')),
      client.sendMessage(new Draft('c1', '6')),
      client.sendMessage(input('7')),
      client.sendMessage(input('8')),
    ];
    await Promise.all(calls);
    expect(fake.sendCalls).toEqual([
      { method: 'sendMessageEach', texts: ['1', '2'] },
      { method: 'sendMessages', texts: ['3', '4'] },
      { method: 'sendMessage', texts: ['5'] },
      { method: 'sendMessage', texts: ['6'] },
      { method: 'sendMessageEach', texts: ['7', '8'] },
    ]);
    expect(fake.stored).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
  });

  it('takes the input as it was at the call', async () => {
    const { fake, client } = setup();
    const a = input('before');
    const p = client.sendMessage(a);
    const q = client.sendMessage(input('other'));
    a.text = 'after';
    expect((await p).text).toBe('before');
    await q;
    expect(fake.stored).toEqual(['before', 'other']);
  });

  it('a worker call that fails whole rejects every caller of it with that error', async () => {
    const { fake, client } = setup();
    fake.sendError = new StorageError('sendMessage: the disk is full');
    const calls = [client.sendMessage(input('a')), client.sendMessage(input('b')), client.sendMessage(input('c'))];
    expect(await outcomes(calls)).toEqual(['storage', 'storage', 'storage']);
    fake.sendError = null;
    expect((await client.sendMessage(input('d'))).text).toBe('d');
  });

  it('calls after close() reject with a typed `closed`, alone or many in one task, and reach no worker', async () => {
    const { fake, client } = setup();
    await client.sendMessage(input('started'));
    await client.close();
    const after = [client.sendMessage(input('a')), client.sendMessage(input('b')), client.sendMessage(input('c'))];
    const errors = await Promise.all(after.map((p) => p.catch((e: unknown) => e)));
    for (const e of errors) {
      expect(e).toBeInstanceOf(ReadSyncError);
      expect(e).toMatchObject({ code: 'closed', message: 'The readsync client is closed' });
    }
    expect(await client.sendMessages([input('d')]).catch((e: ReadSyncError) => e.code)).toBe('closed');
    expect(fake.sendCalls).toEqual([{ method: 'sendMessage', texts: ['started'] }]);
  });
});

describe('ReadSyncClient: coalesced sends and a worker that does not answer', () => {
  it('every caller of a coalesced call in flight rejects with worker-failed', async () => {
    const { port1, port2 } = new MessageChannel();
    port1.start(); // receives and ignores everything
    const client = createReadSyncClient({ worker: port2, userId: 'bob', token: 't', serverUrl: 'http://localhost', environment: false, init: true, startTimeoutMs: 30 });
    cleanup.push(async () => {
      await client.close();
      port1.close();
      port2.close();
    });
    const calls = [client.sendMessage(input('a')), client.sendMessage(input('b')), client.sendMessage(input('c'))];
    expect(await outcomes(calls)).toEqual(['worker-failed', 'worker-failed', 'worker-failed']);
  });
});
