/**
 * Issue 14: a receipt from the server reaches its subscriber when it arrives
 * at the worker, not after the IndexedDB commits queued ahead of it; and if
 * its own write then fails, the subscriber is taken back to what is stored
 * and the failure shows in the sync status.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReadState, SyncStatus } from '../../src/bridge';
import type { Message, MessageReceipt, ServerEvent } from '../../src/protocol';
import type { EventStreamHandlers } from '../../worker/transport/Transport';
import { MemoryTransport } from '../../worker/transport/MemoryTransport';
import { mid, newCore, openClient, type Client } from './harness';

/** The in-memory transport, plus a way to push events down its stream as the server would. */
class PushTransport extends MemoryTransport {
  private handlers: EventStreamHandlers | null = null;
  override openEvents(since: number | null, handlers: EventStreamHandlers): () => void {
    this.handlers = handlers;
    return super.openEvents(since, handlers);
  }
  push(event: ServerEvent): void {
    if (!this.handlers) throw new Error('no event stream open');
    this.handlers.onEvent(event);
  }
}

const open: Client<PushTransport>[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of open.splice(0)) await c.close();
});

const message = (n: number): Message => ({
  id: mid(n),
  convId: 'team',
  convType: 'group',
  senderId: 'alice',
  text: `message ${n}`,
  needReadReceipt: true,
  seq: n,
  sentAt: 1_000 + n,
  audienceCount: 3,
});
const receipt = (n: number, readCount: number): MessageReceipt => ({
  convId: 'team',
  convType: 'group',
  messageId: mid(n),
  timestamp: 2_000 + readCount,
  isPeerRead: false,
  readCount,
  unreadCount: 3 - readCount,
});

/** Alice's worker holding her messages 1 and 2, each watched by a readState$ subscription. */
async function alice() {
  const core = newCore();
  const c = await openClient(core, 'alice', { transport: new PushTransport(core, 'alice') });
  open.push(c);
  await c.api.receiveMessages([message(1), message(2)]);
  const s1 = await c.sub({ kind: 'read-state', messageId: mid(1) });
  const s2 = await c.sub({ kind: 'read-state', messageId: mid(2) });
  const state = (id: number) => () => c.values.get(id) as ReadState | null | undefined;
  await c.until(state(s1), (s) => s?.readCount === 0, 'message 1 shown');
  await c.until(state(s2), (s) => s?.readCount === 0, 'message 2 shown');
  return { c, s1, s2, state };
}

describe('a receipt arriving at the worker', () => {
  it('reaches its subscriber while the commits of earlier receipts are still pending', async () => {
    const { c, s1, s2, state } = await alice();
    // Another connection holds a write transaction on the receipts store: every receipt write waits behind it.
    let hold = true;
    let committed = false;
    const holder = c.db
      .transaction('rw', c.db.receipts, async () => {
        while (hold) await c.db.receipts.get('nothing');
      })
      .then(() => (committed = true));

    c.transport.push({ type: 'receipts', receipts: [receipt(1, 1)], cursor: 1 });
    await c.until(state(s1), (s) => s?.readCount === 1, 'receipt 1 shown');
    // The second arrives while the first one's write is queued: it does not wait for it either.
    c.transport.push({ type: 'receipts', receipts: [receipt(2, 2)], cursor: 2 });
    await c.until(state(s2), (s) => s?.readCount === 2, 'receipt 2 shown before any receipt write committed');
    expect(committed).toBe(false);

    hold = false;
    await holder;
    await c.worker.engine.idle();
    await c.worker.hub.idle();
    // Both are stored, and what the subscribers see agrees with the store.
    expect((await c.db.receipts.get(mid(1)))?.readCount).toBe(1);
    expect((await c.db.receipts.get(mid(2)))?.readCount).toBe(2);
    expect(state(s1)()?.readCount).toBe(1);
    expect(state(s2)()?.readCount).toBe(2);
  });

  it('whose write fails: the subscriber is taken back to the stored state and lastError says why', async () => {
    const { c, s1, state } = await alice();
    const status = await c.sub({ kind: 'sync-status' });
    const real = c.db.transaction.bind(c.db) as (...args: unknown[]) => unknown;
    // Receipt writes fail (a full disk); reads and every other write go through.
    vi.spyOn(c.db, 'transaction').mockImplementation(((...args: unknown[]) => {
      const tables = (Array.isArray(args[1]) ? args[1] : [args[1]]) as { name?: string }[];
      if (args[0] === 'rw' && tables.some((t) => t?.name === 'receipts')) return Promise.reject(Object.assign(new Error('disk full'), { name: 'QuotaExceededError' }));
      return real(...args);
    }) as typeof c.db.transaction);

    c.transport.push({ type: 'receipts', receipts: [receipt(1, 2)], cursor: 1 });
    await c.until(() => c.batches.some((b) => b.some((u) => u.id === s1 && (u.value as ReadState | null)?.readCount === 2)), Boolean, 'receipt shown on arrival');
    await c.until(() => c.values.get(status) as SyncStatus | undefined, (s) => s?.lastError?.code === 'storage', 'the failed write in the status');
    await c.until(state(s1), (s) => s?.readCount === 0, 'the stored state shown again');
    expect(await c.db.receipts.get(mid(1))).toBeUndefined();
  });
});
