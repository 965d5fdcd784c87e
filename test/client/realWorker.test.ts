import { afterEach, describe, expect, it, vi } from 'vitest';
import { expose } from 'comlink';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import type { Subscription } from 'rxjs';
import { createReadSyncClient, type ReadSyncClient } from '../../src/client';
import { ReadSyncError, type MessageReceipt } from '../../src/protocol';
import type { LocalMessage, ReadState, SendMessageInput } from '../../src/bridge';
import { SyncCore } from '../../src/server/core/SyncCore';
import { MemoryStore } from '../../src/server/store/MemoryStore';
import { ReadSyncDb } from '../../worker/db/ReadSyncDb';
import { ReadSyncWorker } from '../../worker/ReadSyncWorker';
import { MemoryTransport } from '../../worker/transport/MemoryTransport';

interface User {
  client: ReadSyncClient;
  worker: ReadSyncWorker;
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** One user's real worker (fake IndexedDB, in-memory backend) reached by the real client through Comlink over a MessageChannel. */
async function open(core: SyncCore, userId: string): Promise<User> {
  const db = new ReadSyncDb(`readsync-${userId}`, { indexedDB: new IDBFactory(), IDBKeyRange });
  const worker = new ReadSyncWorker({ db, transport: new MemoryTransport(core, userId), userId, flush: { debounceMs: 0 } });
  await worker.start();
  const { port1, port2 } = new MessageChannel();
  expose(worker, port1);
  const client = createReadSyncClient({ worker: port2, userId, token: 'unused', serverUrl: 'memory:', environment: false });
  cleanup.push(async () => {
    await client.close();
    await worker.close();
    port1.close();
    port2.close();
  });
  return { client, worker };
}

/** Latest value of an observable, kept up to date. */
function latest<T>(obs: { subscribe(next: (v: T) => void): Subscription }): { get(): T | undefined; sub: Subscription } {
  let value: T | undefined;
  const sub = obs.subscribe((v) => (value = v));
  return { get: () => value, sub };
}

const wait = (fn: () => void): Promise<void> => vi.waitFor(fn, { timeout: 5000, interval: 5 });

async function world(): Promise<{ core: SyncCore; alice: User; bob: User; carol: User; c2c: string; group: string }> {
  const core = new SyncCore(new MemoryStore(), { secret: 'test-secret' });
  const c2c = (await core.admin.createC2C('alice', 'bob')).id;
  const group = (await core.admin.createGroup({ id: 'work', name: 'Work', groupType: 'work', members: ['alice', 'bob', 'carol', 'dave'] })).id;
  const [alice, bob, carol] = await Promise.all([open(core, 'alice'), open(core, 'bob'), open(core, 'carol')]);
  for (const u of [alice, bob, carol]) {
    const convs = latest(u.client.conversations$);
    await wait(() => expect(convs.get()?.map((c) => c.id).sort()).toEqual(u === carol ? [group] : [c2c, group].sort()));
    convs.sub.unsubscribe();
  }
  return { core, alice, bob, carol, c2c, group };
}

describe('ReadSyncClient with the real worker (fake-indexeddb, in-memory backend)', () => {
  it('c2c: send with receipt → receiver sees it → markRead → sender sees "Read" on readState$ and receipts$', async () => {
    const { alice, bob, c2c } = await world();
    const batches: MessageReceipt[][] = [];
    alice.client.receipts$.subscribe((b) => batches.push(b));
    const sent = await alice.client.sendMessage({ convId: c2c, text: 'lunch?', needReadReceipt: true });
    const aliceState = latest<ReadState | null>(alice.client.readState$(sent.id));
    // On the server: "Sent", or already "Delivered" when Bob's worker stored it and said so first.
    await wait(() => expect(['Sent', 'Delivered']).toContain(aliceState.get()?.label));

    const bobMessages = latest<LocalMessage[]>(bob.client.messages$(c2c));
    await wait(() => expect(bobMessages.get()?.map((m) => m.text)).toEqual(['lunch?']));
    expect(await bob.client.markRead(bobMessages.get() ?? [])).toMatchObject({ queued: 1 });

    await wait(() => expect(aliceState.get()).toMatchObject({ label: 'Read', isPeerRead: true, deliveredCount: 1 }));
    await wait(() => expect(batches.flat().some((r) => r.messageId === sent.id && r.isPeerRead)).toBe(true));
    expect(await alice.client.getReadReceipts([sent])).toEqual([{ messageId: sent.id, receipt: expect.objectContaining({ messageId: sent.id, isPeerRead: true }) }]);
  });

  it('group: counts and the member pages through the client', async () => {
    const { alice, bob, carol, group } = await world();
    const sent = await alice.client.sendMessage({ convId: group, text: 'standup at 10', needReadReceipt: true });
    const state = latest<ReadState | null>(alice.client.readState$(sent.id));
    await wait(() => expect(state.get()?.label).toBe('0 read · 3 unread'));
    for (const u of [bob, carol]) {
      const msgs = latest<LocalMessage[]>(u.client.messages$(group));
      await wait(() => expect(msgs.get()).toHaveLength(1));
      await u.client.markRead(sent.id);
    }
    await wait(() => expect(state.get()?.label).toBe('2 read · 1 unread'));
    const read: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await alice.client.getReadMembers(sent.id, { filter: 'read', cursor, count: 1 });
      read.push(...page.members.map((m) => m.userId));
      cursor = page.isFinished ? null : page.nextCursor;
    } while (cursor);
    expect(read.sort()).toEqual(['bob', 'carol']);
    const unread = await alice.client.getReadMembers(sent.id, { filter: 'unread', count: 10 });
    expect(unread).toMatchObject({ members: [{ userId: 'dave' }], isFinished: true });
  });

  it('1,000 subscribers to one message share one worker subscription; unsubscribing releases it', async () => {
    const { alice, c2c } = await world();
    const sent = await alice.client.sendMessage({ convId: c2c, text: 'hi', needReadReceipt: true });
    const subs: Subscription[] = [];
    const labels = new Set<string>();
    for (let i = 0; i < 1000; i++) subs.push(alice.client.readState$(sent.id).subscribe((s) => s && labels.add(s.label)));
    subs.push(alice.client.messages$(c2c, { limit: 10 }).subscribe());
    await wait(() => expect(labels.has('Sent') || labels.has('Delivered')).toBe(true));
    expect(await alice.worker.stats()).toEqual({ subscriptions: 2, queries: 2 });
    for (const s of subs) s.unsubscribe();
    await wait(async () => expect(await alice.worker.stats()).toEqual({ subscriptions: 0, queries: 0 }));
  });

  it('close() releases every worker-side subscription', async () => {
    const { alice } = await world();
    alice.client.syncStatus$.subscribe();
    alice.client.conversations$.subscribe();
    await wait(async () => expect(await alice.worker.stats()).toEqual({ subscriptions: 2, queries: 2 }));
    await alice.client.close();
    expect(await alice.worker.stats()).toEqual({ subscriptions: 0, queries: 0 });
  });

  it('worker errors arrive as ReadSyncError with their code', async () => {
    const { alice, bob, core, c2c } = await world();
    await core.admin.createGroup({ id: 'hangout', name: 'Hangout', groupType: 'community', members: ['alice', 'bob'] });
    const sent = await alice.client.sendMessage({ convId: c2c, text: 'x', needReadReceipt: true });
    const bobMessages = latest<LocalMessage[]>(bob.client.messages$(c2c));
    await wait(() => expect(bobMessages.get()).toHaveLength(1));
    const notSender = await bob.client.getReadMembers(sent.id, { filter: 'read' }).catch((e: unknown) => e);
    expect(notSender).toBeInstanceOf(ReadSyncError);
    expect((notSender as ReadSyncError).code).toBe('not-sender');
    const bad = await alice.client.sendMessage({ convId: c2c, text: 42 as unknown as string }).catch((e: unknown) => e);
    expect((bad as ReadSyncError).code).toBe('invalid-argument');
    const convs = latest(alice.client.conversations$);
    await wait(() => expect(convs.get()?.some((c) => c.id === 'hangout')).toBe(true));
    const disabled = await alice.client.sendMessage({ convId: 'hangout', text: 'y', needReadReceipt: true }).catch((e: unknown) => e);
    expect(disabled).toBeInstanceOf(ReadSyncError);
    expect((disabled as ReadSyncError).code).toBe('receipts-disabled');
  });

  it('concurrent sendMessage calls: one worker call, each its own answer or error (as alone), stored and sent in call order', async () => {
    const { alice, core, c2c, group } = await world();
    await core.admin.createGroup({ id: 'hangout', name: 'Hangout', groupType: 'community', members: ['alice', 'bob'] });
    const convs = latest(alice.client.conversations$);
    await wait(() => expect(convs.get()?.some((c) => c.id === 'hangout')).toBe(true));
    await alice.client.sendMessage({ convId: group, text: 'first', id: 'takenId00001' });
    const each = vi.spyOn(alice.worker, 'sendMessageEach');
    const inputs: SendMessageInput[] = Array.from({ length: 300 }, (_, i) => ({ convId: group, text: `m${i}` }));
    const bad: Record<number, SendMessageInput> = {
      10: { convId: group, text: 42 as unknown as string },
      20: { convId: 'hangout', text: 'no receipts here', needReadReceipt: true },
      30: { convId: group, text: 'reused id', id: 'takenId00001' },
      40: { convId: c2c, text: 'wrong type', convType: 'group' },
      50: { convId: group, text: 'twice in the burst', id: 'burstId00001' },
      51: { convId: group, text: 'twice in the burst', id: 'burstId00001' },
    };
    for (const [i, b] of Object.entries(bad)) inputs[Number(i)] = b;
    const settled = await Promise.allSettled(inputs.map((input) => alice.client.sendMessage(input)));
    expect(each).toHaveBeenCalledTimes(1);
    const codes = settled.map((s) => (s.status === 'fulfilled' ? 'ok' : (s.reason as ReadSyncError).code));
    const expected = inputs.map((_, i) => ({ 10: 'invalid-argument', 20: 'receipts-disabled', 30: 'conflict', 40: 'invalid-argument', 51: 'conflict' })[i] ?? 'ok');
    expect(codes).toEqual(expected);
    // Each refusal is the error the same call gets alone (a reused id: the id is taken either way).
    for (const i of [10, 20, 30, 40, 51]) {
      const alone = (await alice.client.sendMessage(inputs[i] as SendMessageInput).catch((e: unknown) => e)) as ReadSyncError;
      const got = (settled[i] as PromiseRejectedResult).reason as ReadSyncError;
      expect(got).toBeInstanceOf(ReadSyncError);
      expect({ name: got.name, code: got.code, message: got.message }).toEqual({ name: alone.name, code: alone.code, message: alone.message });
    }
    // Each caller got its own message, stamped in call order.
    const sent = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [{ i, m: s.value }] : []));
    for (const { i, m } of sent) expect(m).toMatchObject({ convId: inputs[i]?.convId, text: inputs[i]?.text, status: 'pending' });
    const stamps = sent.map(({ m }) => m.createdAt);
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
    expect(new Set(stamps).size).toBe(stamps.length);
    // The server numbers them in call order.
    const groupTexts = ['first', ...sent.filter(({ m }) => m.convId === group).map(({ m }) => m.text)];
    await wait(async () => expect((await core.store.messagesAfter(group, 0, 1000)).map((m) => m.text)).toEqual(groupTexts));
  });
});
