import { afterEach, describe, expect, it, vi } from 'vitest';
import { expose } from 'comlink';
import { firstValueFrom, type Subscription } from 'rxjs';
import { createReadSyncClient, type ReadSyncClient } from '../../src/client';
import { ReadSyncError, type MessageReceipt } from '../../src/protocol';
import type { ReadState } from '../../src/bridge';
import { FakeWorkerApi } from './FakeWorkerApi';

const MSG = 'msgAAAAAAAAAAAA1';
const state = (label: string, readCount = 0): ReadState => ({
  messageId: MSG, convId: 'c1', convType: 'c2c', direction: 'outgoing', needReadReceipt: true, status: 'sent',
  readCount, unreadCount: 1 - readCount, deliveredCount: readCount, isPeerRead: readCount > 0, timestamp: 0, ackStatus: 'none', label,
});

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

function setup(
  environment: Parameters<typeof createReadSyncClient>[0]['environment'] = false,
  opts: { init?: boolean; fake?: FakeWorkerApi } = {},
): { fake: FakeWorkerApi; client: ReadSyncClient } {
  const fake = opts.fake ?? new FakeWorkerApi();
  const { port1, port2 } = new MessageChannel();
  expose(fake, port1);
  const client = createReadSyncClient({ worker: port2, userId: 'bob', token: 't', serverUrl: 'http://localhost', environment, init: opts.init });
  cleanup.push(async () => {
    await client.close();
    port1.close();
    port2.close();
  });
  return { fake, client };
}

describe('ReadSyncClient over one Comlink channel (fake worker)', () => {
  it('delivers the current read state and then its live updates', async () => {
    const { fake, client } = setup();
    fake.values.set(JSON.stringify({ kind: 'read-state', messageId: MSG }), state('Sent'));
    const seen: (string | undefined)[] = [];
    const sub = client.readState$(MSG).subscribe((s) => seen.push(s?.label));
    await vi.waitFor(() => expect(seen).toEqual(['Sent']));
    fake.set({ kind: 'read-state', messageId: MSG }, state('Read', 1));
    await vi.waitFor(() => expect(seen).toEqual(['Sent', 'Read']));
    sub.unsubscribe();
  });

  it('shares identical queries: one worker subscription, and a late subscriber gets the latest value at once', async () => {
    const { fake, client } = setup();
    const a: string[] = [];
    const b: string[] = [];
    const s1 = client.readState$(MSG).subscribe((s) => a.push(s?.label ?? 'null'));
    const s2 = client.readState$({ id: MSG }).subscribe((s) => b.push(s?.label ?? 'null'));
    fake.set({ kind: 'read-state', messageId: MSG }, state('Sent'));
    await vi.waitFor(() => expect(a).toEqual(['Sent']));
    expect(b).toEqual(['Sent']);
    const late: string[] = [];
    const s3 = client.readState$(MSG).subscribe((s) => late.push(s?.label ?? 'null'));
    expect(late).toEqual(['Sent']); // synchronously, from the registry
    expect(fake.subscribeCalls).toEqual([[1]]);
    expect(await fake.stats()).toEqual({ subscriptions: 1, queries: 1 });
    [s1, s2, s3].forEach((s) => s.unsubscribe());
  });

  it('1,000 subscribers to one message and 10 others cost one subscribe call with 11 ids', async () => {
    const { fake, client } = setup();
    const subs: Subscription[] = [];
    for (let i = 0; i < 1000; i++) subs.push(client.readState$(MSG).subscribe());
    for (let i = 0; i < 10; i++) subs.push(client.readState$(`msgBBBBBBBBBBB${i}0`).subscribe());
    await vi.waitFor(() => expect(fake.subscribeCalls).toHaveLength(1));
    expect(fake.subscribeCalls[0]).toHaveLength(11);
    expect(await fake.stats()).toEqual({ subscriptions: 11, queries: 11 });
    expect(client.liveSubscriptions).toBe(11);

    // Dropping 999 of the 1,000 keeps the shared subscription alive.
    subs.slice(0, 999).forEach((s) => s.unsubscribe());
    await Promise.resolve();
    await Promise.resolve();
    expect(fake.unsubscribeCalls).toEqual([]);
    subs.slice(999).forEach((s) => s.unsubscribe());
    await vi.waitFor(() => expect(fake.unsubscribeCalls).toHaveLength(1));
    expect(fake.unsubscribeCalls[0]).toHaveLength(11);
    expect(await fake.stats()).toEqual({ subscriptions: 0, queries: 0 });
    expect(client.liveSubscriptions).toBe(0);
  });

  it('a subscription ended within the same tick never reaches the worker', async () => {
    const { fake, client } = setup();
    client.readState$(MSG).subscribe().unsubscribe();
    const keep = client.syncStatus$.subscribe();
    await vi.waitFor(() => expect(fake.subscribeCalls).toHaveLength(1));
    expect(fake.subscribeCalls[0]).toEqual([2]);
    expect(fake.unsubscribeCalls).toEqual([]);
    keep.unsubscribe();
  });

  it('fans out one sink batch to every subscription it carries', async () => {
    const { fake, client } = setup();
    const other = 'msgCCCCCCCCCCCC1';
    const got: string[] = [];
    client.readState$(MSG).subscribe((s) => s && got.push(`${s.messageId}:${s.label}`));
    client.readState$(other).subscribe((s) => s && got.push(`${s.messageId}:${s.label}`));
    await vi.waitFor(() => expect(fake.subs.size).toBe(2));
    const before = fake.sinkCalls.length;
    fake.set({ kind: 'read-state', messageId: MSG }, state('Read', 1));
    fake.set({ kind: 'read-state', messageId: other }, { ...state('Sent'), messageId: other });
    await vi.waitFor(() => expect(got).toHaveLength(2));
    expect(fake.sinkCalls.length - before).toBe(1);
    expect(got.sort()).toEqual([`${MSG}:Read`, `${other}:Sent`]);
  });

  it('receipts$ streams batches and does not replay an old batch to a late subscriber', async () => {
    const { fake, client } = setup();
    const first: MessageReceipt[][] = [];
    client.receipts$.subscribe((b) => first.push(b));
    await vi.waitFor(() => expect(fake.subs.size).toBe(1));
    const batch: MessageReceipt[] = [{ convId: 'c1', convType: 'c2c', messageId: MSG, timestamp: 5, isPeerRead: true, readCount: 1, unreadCount: 0 }];
    fake.receipts(batch);
    await vi.waitFor(() => expect(first).toEqual([batch]));
    const late: MessageReceipt[][] = [];
    client.receipts$.subscribe((b) => late.push(b));
    await Promise.resolve();
    expect(late).toEqual([]);
    expect(fake.subscribeCalls).toEqual([[1]]);
  });

  it('errors keep their code: rejected calls and failed subscriptions', async () => {
    const { fake, client } = setup();
    const err = await client.getReadMembers(MSG, { filter: 'read' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadSyncError);
    expect((err as ReadSyncError).code).toBe('not-sender');

    const failed = new Promise<unknown>((resolve) => client.readState$(MSG).subscribe({ error: resolve }));
    const healthy: string[] = [];
    client.syncStatus$.subscribe({ next: () => healthy.push('value'), error: () => healthy.push('error') });
    await vi.waitFor(() => expect(fake.subs.size).toBe(2));
    fake.fail({ kind: 'read-state', messageId: MSG }, { name: 'StorageError', code: 'storage', message: 'quota exceeded' });
    const e = await failed;
    expect(e).toBeInstanceOf(ReadSyncError);
    expect((e as ReadSyncError).code).toBe('storage');
    expect(healthy).toEqual(['value']);
    expect(client.liveSubscriptions).toBe(1);
  });

  it('a bad argument errors with invalid-argument and never reaches the worker', async () => {
    const { fake, client } = setup();
    const e1 = await firstValueFrom(client.readState$(42 as unknown as string)).catch((e: unknown) => e);
    const e2 = await firstValueFrom(client.readState$('not an id!')).catch((e: unknown) => e);
    const e3 = await client.markRead([null as unknown as string]).catch((e: unknown) => e);
    for (const e of [e1, e2, e3]) expect((e as ReadSyncError).code).toBe('invalid-argument');
    await client.flush();
    expect(fake.subscribeCalls).toEqual([]);
  });

  it('close() completes observables, releases worker subscriptions and refuses later calls', async () => {
    const { fake, client } = setup();
    let completed = 0;
    client.readState$(MSG).subscribe({ complete: () => completed++ });
    client.conversations$.subscribe({ complete: () => completed++ });
    await vi.waitFor(() => expect(fake.subs.size).toBe(2));
    await client.close();
    expect(completed).toBe(2);
    expect(await fake.stats()).toEqual({ subscriptions: 0, queries: 0 });
    expect(((await client.markRead([MSG]).catch((e: unknown) => e)) as ReadSyncError).code).toBe('closed');
    // Subscribing afterwards completes (test/client/closedClient.test.ts).
    expect(await firstValueFrom(client.syncStatus$, { defaultValue: 'completed' })).toBe('completed');
  });

  it('forwards online/offline/visibility to the worker and stops on close', async () => {
    const win = Object.assign(new EventTarget(), { navigator: { onLine: true } });
    const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    const { fake, client } = setup({ window: win, document: doc });
    await vi.waitFor(() => expect(fake.environment).toEqual([{ online: true, visible: true }]));
    win.dispatchEvent(new Event('offline'));
    doc.visibilityState = 'hidden';
    doc.dispatchEvent(new Event('visibilitychange'));
    win.dispatchEvent(new Event('online'));
    await vi.waitFor(() => expect(fake.environment).toHaveLength(4));
    expect(fake.environment.slice(1)).toEqual([{ online: false }, { visible: false }, { online: true }]);
    await client.close();
    win.dispatchEvent(new Event('offline'));
    await fake.stats();
    expect(fake.environment).toHaveLength(4);
  });

  it('initialises the worker before anything else when asked to (as for a real Worker)', async () => {
    const { fake, client } = setup(false, { init: true });
    client.syncStatus$.subscribe();
    await vi.waitFor(() => expect(fake.subs.size).toBe(1));
    expect(fake.calls).toEqual(['init:bob@http://localhost', 'attach']);
  });

  it('a failed start-up rejects every call with its code and is reported once on error$', async () => {
    const fake = new FakeWorkerApi();
    fake.initError = new ReadSyncError('unauthenticated', 'bad token');
    const { client } = setup(false, { init: true, fake });
    const reported: string[] = [];
    client.error$.subscribe((e) => reported.push(e.code));
    const call = await client.markRead(['msgAAAAAAAAAAAA1']).catch((e: unknown) => e);
    const sub = await new Promise<unknown>((resolve) => client.conversations$.subscribe({ error: resolve }));
    for (const e of [call, sub]) {
      expect(e).toBeInstanceOf(ReadSyncError);
      expect((e as ReadSyncError).code).toBe('unauthenticated');
    }
    expect(reported).toEqual(['unauthenticated']);
    expect(fake.calls).toEqual(['init:bob@http://localhost']);
  });

  it('close() in the same tick as a subscribe: the worker never hears of it, and nothing is reported', async () => {
    const { fake, client } = setup();
    const reported: string[] = [];
    client.error$.subscribe((e) => reported.push(e.code));
    let completed = false;
    client.readState$(MSG).subscribe({ complete: () => (completed = true) });
    await client.close();
    expect(completed).toBe(true);
    expect(fake.subscribeCalls).toEqual([]);
    expect(fake.unsubscribeCalls).toEqual([]);
    expect(reported).toEqual([]);
  });

  it('a subscriber that subscribes the same query from its callback gets each value once', async () => {
    const { fake, client } = setup();
    const inner: string[] = [];
    let nested = false;
    client.readState$(MSG).subscribe((s) => {
      if (s?.label !== 'Read' || nested) return;
      nested = true;
      client.readState$(MSG).subscribe((t) => inner.push(t?.label ?? 'null'));
    });
    await vi.waitFor(() => expect(fake.subs.size).toBe(1));
    fake.set({ kind: 'read-state', messageId: MSG }, state('Read', 1));
    await vi.waitFor(() => expect(inner).toEqual(['Read']));
    await client.flush(); // a round trip later, still once
    expect(inner).toEqual(['Read']);
  });
});
