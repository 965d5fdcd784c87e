/**
 * The seed's whole flow over real HTTP and WebSocket: two users' workers
 * (ReadSyncWorker on fake-indexeddb, reached through Comlink) talk to a
 * reference server on a loopback port-0 socket through HttpTransport.
 */
import * as Comlink from 'comlink';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReadState, UpdateBatch, WorkerApi } from '../../src/bridge';
import { installErrorTransfer, unpackUpdates } from '../../src/bridge';
import type { MessageReceipt } from '../../src/protocol';
import { ReadSyncDb } from '../../worker/db/ReadSyncDb';
import { ReadSyncWorker } from '../../worker/ReadSyncWorker';
import { startServer } from './httpFixture';
import { collectMemberPages } from '../support/collectMemberPages';

installErrorTransfer();

type Server = Awaited<ReturnType<typeof startServer>>;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until<T>(read: () => T | Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let subId = 1;
async function openUser(s: Server, userId: string) {
  const db = new ReadSyncDb(`readsync-${userId}`, { indexedDB: new IDBFactory(), IDBKeyRange });
  const worker = new ReadSyncWorker({ db, transport: s.transport(userId), userId, flush: { debounceMs: 0 } });
  await worker.start();
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(worker, port2);
  const api = Comlink.wrap<WorkerApi>(port1);
  const values = new Map<number, unknown>();
  await api.attach(
    Comlink.proxy((batch: UpdateBatch) => {
      for (const u of unpackUpdates(batch)) values.set(u.id, u.value);
    }),
  );
  cleanups.push(async () => {
    await api.close().catch(() => undefined);
    api[Comlink.releaseProxy]();
    port1.close();
    port2.close();
  });
  const sub = async (query: Parameters<WorkerApi['subscribe']>[0][number]['query']) => {
    const id = subId++;
    await api.subscribe([{ id, query }]);
    return id;
  };
  const state = (id: number) => values.get(id) as ReadState | null | undefined;
  return { api, db, values, sub, state };
}

async function server(): Promise<Server> {
  const s = await startServer();
  cleanups.push(() => s.close());
  return s;
}

describe('seed flow over HTTP + WebSocket with two workers', () => {
  it('c2c: send with receipt → bob receives over the socket → markRead → alice sees "Read" live and in getReadReceipts', async () => {
    const s = await server();
    const conv = await s.core.admin.createC2C('alice', 'bob');
    const alice = await openUser(s, 'alice');
    const bob = await openUser(s, 'bob');
    await until(() => alice.api.getConversations(), (cs) => cs.some((c) => c.id === conv.id), 'alice sees the conversation');

    const receipts = await alice.sub({ kind: 'receipts' });
    const msg = await alice.api.sendMessage({ convId: conv.id, text: 'hello over http', needReadReceipt: true });
    const aliceState = await alice.sub({ kind: 'read-state', messageId: msg.id });
    await alice.api.flush();
    await until(() => alice.state(aliceState), (st) => st?.label === 'Sent', 'Sent');

    // bob's worker gets the message from the server's event stream, not from the test
    const bobState = await bob.sub({ kind: 'read-state', messageId: msg.id });
    await until(() => bob.state(bobState), (st) => st?.direction === 'incoming', 'bob receives the message');
    const readAt = Date.now();
    expect(await bob.api.markRead([msg.id])).toEqual({ queued: 1, alreadyRead: 0, skipped: [] });
    await bob.api.flush();
    await until(() => bob.state(bobState), (st) => st?.ackStatus === 'sent', 'bob: ack sent');

    const read = await until(() => alice.state(aliceState), (st) => st?.label === 'Read', 'alice sees Read');
    expect(read).toMatchObject({ isPeerRead: true, direction: 'outgoing' });
    expect(read?.timestamp).toBeGreaterThanOrEqual(readAt);
    // receipts$ fires once the receipt is stored; the read state may show it a moment earlier (preview)
    await until(() => alice.values.get(receipts) as MessageReceipt[] | undefined, (b) => b?.some((r) => r.messageId === msg.id && r.isPeerRead) === true, 'the receipts batch');
    expect(await alice.api.getReadReceipts([msg.id])).toEqual([{ messageId: msg.id, receipt: expect.objectContaining({ messageId: msg.id, isPeerRead: true, readCount: 1, unreadCount: 0 }) }]);
    // and the server agrees
    expect((await s.core.queryReceipts('alice', { type: 'receipt-query', messageIds: [msg.id] })).receipts[0]).toMatchObject({ isPeerRead: true });
  });

  it('group: "1 read · 2 unread", then READ/UNREAD member pages of 1 until finished, nobody twice or missing', async () => {
    const s = await server();
    await s.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol', 'dave'] });
    const alice = await openUser(s, 'alice');
    const bob = await openUser(s, 'bob');
    await until(() => alice.api.getConversations(), (cs) => cs.length === 1, 'alice sees the group');

    const msg = await alice.api.sendMessage({ convId: 'team', text: 'standup?', needReadReceipt: true });
    const aliceState = await alice.sub({ kind: 'read-state', messageId: msg.id });
    await alice.api.flush();
    await until(() => alice.state(aliceState), (st) => st?.label === '0 read · 3 unread', 'nobody read yet');

    await until(() => bob.db.messages.get(msg.id), (m) => m !== undefined, 'bob receives it');
    await bob.api.markRead([{ id: msg.id }]);
    await bob.api.flush();
    const st = await until(() => alice.state(aliceState), (x) => x?.label === '1 read · 2 unread', '1 read · 2 unread');
    expect(st).toMatchObject({ readCount: 1, unreadCount: 2, isPeerRead: false });
    expect(await alice.api.getReadReceipts([msg.id])).toEqual([{ messageId: msg.id, receipt: expect.objectContaining({ readCount: 1, unreadCount: 2 }) }]);

    const collect = (filter: 'read' | 'unread') => collectMemberPages((f, cursor, count) => alice.api.getReadMembers(msg.id, { filter: f, cursor, count }), filter);
    expect((await collect('read')).map((m) => m.userId)).toEqual(['bob']);
    expect((await collect('unread')).map((m) => m.userId)).toEqual(['carol', 'dave']);

    // bob is not the sender: the server refuses him the member list, with its code intact across HTTP and Comlink
    await expect(bob.api.getReadMembers(msg.id, { filter: 'read', count: 5 })).rejects.toMatchObject({ code: 'not-sender' });
  });

  it('a group type without receipts fails the send at once, with a typed error', async () => {
    const s = await server();
    await s.core.admin.createGroup({ id: 'town', name: 'Town', groupType: 'community', members: ['alice', 'bob'] });
    const alice = await openUser(s, 'alice');
    await until(() => alice.api.getConversations(), (cs) => cs.length === 1, 'alice sees the group');
    await expect(alice.api.sendMessage({ convId: 'town', text: 'read this?', needReadReceipt: true })).rejects.toMatchObject({ code: 'receipts-disabled' });
  });
});
