import { expose } from 'comlink';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import type { Subscription } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SyncStatus } from '../../src/bridge';
import { createReadSyncClient } from '../../src/client';
import type { ReadSyncError } from '../../src/protocol';
import { TokenAuth } from '../../src/server/auth/TokenAuth';
import { ReadSyncDb } from '../../worker/db/ReadSyncDb';
import { ReadSyncWorker } from '../../worker/ReadSyncWorker';
import { HttpTransport } from '../../worker/transport/HttpTransport';
import { NodeWebSocket, startServer } from '../server/httpFixture';

// The auth lifecycle through the public client, against the real server over
// HTTP and WebSocket: the server refuses a token, the client shows
// 'needs-auth', gets a new token from the app, and the kept queue flushes.

const SECRET = 'test-secret-0123456789';
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const wait = (fn: () => void | Promise<void>, timeout = 10_000): Promise<void> => vi.waitFor(fn, { timeout, interval: 10 });

/** A TokenAuth whose tokens the test can revoke (the way a session store would). */
function revocableAuth() {
  const inner = new TokenAuth(SECRET);
  const revoked = new Set<string>();
  return {
    revoked,
    issue: (userId: string) => inner.issue(userId),
    authenticate: (token: string) => (revoked.has(token) ? null : inner.authenticate(token)),
  };
}

async function world() {
  const auth = revocableAuth();
  const s = await startServer({ auth });
  cleanup.push(() => s.close());
  await s.core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: ['alice', 'bob', 'carol'] });
  let ackRequests = 0;
  const afterAck: (() => void)[] = [];
  // Count the ack batches the server applied (each answered request went through here once); a
  // batch carrying only delivery ranges (issue 10.5: bob's worker stored the messages) is no ack batch.
  const ackBatch = s.core.ackBatch.bind(s.core);
  s.core.ackBatch = async (userId, req) => {
    const res = await ackBatch(userId, req);
    if (req.acks.length === 0) return res;
    ackRequests++;
    for (const f of afterAck) f();
    return res;
  };
  return { s, auth, afterAck, ackRequests: () => ackRequests };
}

/** Bob's real worker (fake IndexedDB, HTTP transport) and the real client over Comlink, with `getToken`. */
async function openBob(url: string, firstToken: string, getToken: () => Promise<string>) {
  const db = new ReadSyncDb('readsync-bob', { indexedDB: new IDBFactory(), IDBKeyRange });
  const transport = new HttpTransport({ serverUrl: url, token: firstToken, userId: 'bob', WebSocket: NodeWebSocket, reconnect: { baseMs: 20, maxMs: 200 } });
  // The whole history at once (1,000 messages): markRead of all of them needs them stored.
  const worker = new ReadSyncWorker({ db, transport, userId: 'bob', historyWindow: 1000, flush: { debounceMs: 0, ackBatchSize: 100, backoffBaseMs: 10, backoffMaxMs: 50 } });
  await worker.start();
  const { port1, port2 } = new MessageChannel();
  expose(worker, port1);
  const client = createReadSyncClient({ worker: port2, userId: 'bob', getToken, serverUrl: url, environment: false });
  const statuses: SyncStatus[] = [];
  const errors: ReadSyncError[] = [];
  const subs: Subscription[] = [client.syncStatus$.subscribe((st) => statuses.push(st)), client.error$.subscribe((e) => errors.push(e))];
  cleanup.push(async () => {
    for (const sub of subs) sub.unsubscribe();
    await client.close();
    await worker.close();
    port1.close();
    port2.close();
  });
  return { client, worker, statuses, errors };
}

async function sendMany(core: Awaited<ReturnType<typeof world>>['s']['core'], n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 100) {
    const messages = Array.from({ length: Math.min(100, n - i) }, (_, j) => ({ id: `authmsg${String(i + j).padStart(5, '0')}`, convId: 'team', text: `m${i + j}`, needReadReceipt: true, createdAt: 1 }));
    await core.sendMessages('alice', { type: 'send-messages', messages });
    ids.push(...messages.map((m) => m.id));
  }
  return ids;
}

async function readCounts(core: Awaited<ReturnType<typeof world>>['s']['core'], ids: string[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const r = await core.queryReceipts('alice', { type: 'receipt-query', messageIds: ids.slice(i, i + 500) });
    out.push(...r.receipts.map((x) => x.readCount));
  }
  return out;
}

describe('auth lifecycle: a refused token mid-flush', () => {
  it('reports the refusal, asks getToken once, and then flushes the kept queue: nothing lost, nothing doubled', async () => {
    const w = await world();
    const ids = await sendMany(w.s.core, 1000);
    const first = w.auth.issue('bob');
    const getToken = vi.fn(async () => w.auth.issue('bob'));
    const bob = await openBob(w.s.url, first, getToken);
    await wait(async () => expect(await bob.worker.db.messages.count()).toBe(1000));

    // The token dies after the third batch of ten has been applied.
    w.afterAck.push(() => {
      if (w.ackRequests() === 3) w.auth.revoked.add(first);
    });
    expect(await bob.client.markRead(ids)).toMatchObject({ queued: 1000 });

    await wait(async () => expect(await readCounts(w.s.core, ids)).toEqual(ids.map(() => 1)), 20_000);
    await wait(() => expect(bob.statuses.at(-1)).toMatchObject({ pendingAcks: 0, connection: 'online', lastError: null }));
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(bob.errors.map((e) => e.code)).toEqual(['unauthenticated']);
    // Ten batches of 100 applied once each; the refused request changed nothing and was sent again.
    expect(w.ackRequests()).toBe(10);
  });

  it('keeps the queue while no new token comes, and flushes on setToken', async () => {
    const w = await world();
    const ids = await sendMany(w.s.core, 50);
    const first = w.auth.issue('bob');
    const getToken = vi.fn(async (): Promise<string> => {
      throw new Error('login service down');
    });
    const bob = await openBob(w.s.url, first, getToken);
    await wait(async () => expect(await bob.worker.db.messages.count()).toBe(50));
    w.auth.revoked.add(first);
    await bob.client.markRead(ids);
    await wait(() => expect(bob.statuses.at(-1)).toMatchObject({ connection: 'needs-auth', pendingAcks: 50 }));
    // The refusal, then getToken's failure (asked again later, on a backoff).
    await wait(() => expect(bob.errors.length).toBeGreaterThanOrEqual(2));
    expect(bob.errors[0]).toMatchObject({ code: 'unauthenticated', message: expect.not.stringMatching(/getToken/) });
    expect(bob.errors[1]).toMatchObject({ code: 'unauthenticated', message: expect.stringMatching(/getToken failed: login service down/) });
    expect(await readCounts(w.s.core, ids)).toEqual(ids.map(() => 0));

    await bob.client.setToken(w.auth.issue('bob'));
    await wait(() => expect(bob.statuses.at(-1)).toMatchObject({ pendingAcks: 0, connection: 'online' }));
    expect(await readCounts(w.s.core, ids)).toEqual(ids.map(() => 1));
  });

  it('refuses a token of another user: nothing is applied as them, wrong-user is reported, the right token flushes', async () => {
    const w = await world();
    const ids = await sendMany(w.s.core, 20);
    // Carol's token in Bob's client: a leftover queue must never be sent as Carol. The app's
    // getToken gets it wrong once more, then right.
    let calls = 0;
    const bob = await openBob(w.s.url, w.auth.issue('carol'), async () => w.auth.issue(++calls === 1 ? 'carol' : 'bob'));
    await bob.worker.receiveMessages((await w.s.core.pullMessages('bob', { type: 'pull-messages', since: {} })).messages);
    await bob.client.markRead(ids);
    await wait(() => expect(bob.statuses.some((st) => st.connection === 'needs-auth' && st.lastError?.code === 'wrong-user')).toBe(true));
    await wait(async () => expect(await readCounts(w.s.core, ids)).toEqual(ids.map(() => 1)));
    expect(calls).toBe(2);
    // Refusals kept the queue: no ack ended as rejected.
    await wait(() => expect(bob.statuses.at(-1)).toMatchObject({ pendingAcks: 0, rejectedAcks: 0, connection: 'online' }));
    expect(bob.statuses.some((st) => st.rejectedAcks > 0)).toBe(false);
    expect(bob.errors.map((e) => e.code)).toEqual(['wrong-user', 'wrong-user']);
    // Carol read nothing: every ack counted was Bob's (one reader per message).
    const members = await w.s.core.memberPage('alice', { type: 'member-page', messageId: ids[0]!, filter: 'read', count: 10 });
    expect(members.page.members.map((m) => m.userId)).toEqual(['bob']);
  });
});

describe('auth lifecycle: the event stream’s token expires', () => {
  it('the server closes the stream (4001), the client gets a new token, the stream resumes and receipts keep coming', async () => {
    const w = await world();
    const inner = new TokenAuth(SECRET);
    const getToken = vi.fn(async () => w.auth.issue('alice'));
    // Alice's first token lives 400 ms: long enough to open the stream, short enough for the test.
    const db = new ReadSyncDb('readsync-alice', { indexedDB: new IDBFactory(), IDBKeyRange });
    const transport = new HttpTransport({ serverUrl: w.s.url, token: inner.issue('alice', 400), userId: 'alice', WebSocket: NodeWebSocket, reconnect: { baseMs: 20, maxMs: 200 } });
    const worker = new ReadSyncWorker({ db, transport, userId: 'alice', flush: { debounceMs: 0 } });
    await worker.start();
    const { port1, port2 } = new MessageChannel();
    expose(worker, port1);
    const client = createReadSyncClient({ worker: port2, userId: 'alice', getToken, serverUrl: w.s.url, environment: false });
    cleanup.push(async () => {
      await client.close();
      await worker.close();
      port1.close();
      port2.close();
    });
    const statuses: SyncStatus[] = [];
    client.syncStatus$.subscribe((st) => statuses.push(st));
    await wait(() => expect(getToken).toHaveBeenCalledTimes(1));
    await wait(() => expect(statuses.at(-1)?.connection).toBe('online'));
    // Live receipts after the new token: Bob reads Alice's message, Alice's stream delivers it.
    const [id] = await sendMany(w.s.core, 1);
    const receipts: string[] = [];
    client.receipts$.subscribe((batch) => receipts.push(...batch.map((r) => `${r.messageId}:${r.readCount}`)));
    await w.s.core.ackBatch('bob', { type: 'ack-batch', batchId: 'expiry-batch-1', acks: [{ m: id!, t: 5 }] });
    await w.s.core.flushEvents();
    await wait(() => expect(receipts).toContain(`${id}:1`));
    expect(getToken).toHaveBeenCalledTimes(1);
  });
});

describe('signOut', () => {
  it('reports what was unsent and, with wipe, deletes the user’s database', async () => {
    const w = await world();
    const ids = await sendMany(w.s.core, 5);
    const bob = await openBob(w.s.url, w.auth.issue('bob'), async () => w.auth.issue('bob'));
    await wait(async () => expect(await bob.worker.db.messages.count()).toBe(5));
    w.auth.revoked.clear();
    // Offline: the acks stay queued, and signOut says so.
    await bob.client.setToken('not-a-valid-token');
    await bob.worker.setEnvironment({ online: false });
    await bob.client.markRead(ids);
    const factory = (bob.worker.db as unknown as { _options: { indexedDB: IDBFactory } })._options.indexedDB;
    expect((await factory.databases()).map((d) => d.name)).toContain('readsync-bob');
    expect(await bob.client.signOut({ wipe: true })).toEqual({ wiped: true, unsentAcks: 5, unsentMessages: 0 });
    expect((await factory.databases()).map((d) => d.name)).not.toContain('readsync-bob');
    await expect(bob.client.markRead(ids)).rejects.toMatchObject({ code: 'closed' });
  });

  it('refuses bad options with invalid-argument', async () => {
    const w = await world();
    const bob = await openBob(w.s.url, w.auth.issue('bob'), async () => w.auth.issue('bob'));
    await expect(bob.client.signOut({ wipe: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(bob.client.setToken('')).rejects.toMatchObject({ code: 'invalid-argument' });
  });
});
