import type { Ack, AckBatchResponse, ReadMember, ServerEvent } from '../../src/protocol';
import { SyncCore } from '../../src/server/core/SyncCore';
import type { SyncCoreOptions } from '../../src/server/core/SyncCore';
import { MemoryStore } from '../../src/server/store/MemoryStore';
import { SqliteStore } from '../../src/server/store/SqliteStore';
import type { Store } from '../../src/server/store/Store';
import { beforeEach, describe } from 'vitest';

const STORES: Record<string, () => Store> = { MemoryStore: () => new MemoryStore(), SqliteStore: () => new SqliteStore() };
let storeFactory: () => Store = STORES.MemoryStore!;

/** A fresh store of the implementation under test. */
export const newStore = (): Store => storeFactory();

/** Runs `body` once per store implementation; `makeCore()` inside uses that store. */
export function forEachStore(body: () => void): void {
  describe.each(Object.keys(STORES))('on %s', (kind) => {
    beforeEach(() => {
      storeFactory = STORES[kind]!;
    });
    body();
  });
}

/** A message id that passes MessageIdSchema. */
export const mid = (n: number | string): string => `m${String(n).padStart(7, '0')}`;

let batchN = 0;
/** A fresh batch id. */
export const bid = (): string => `batch-${++batchN}-${Math.random().toString(36).slice(2, 8)}`;

/** A core over a MemoryStore (or the given store) with a controllable clock. */
export function makeCore(options: SyncCoreOptions & { store?: Store } = {}) {
  let clock = 1_700_000_000_000;
  const core = new SyncCore(options.store ?? storeFactory(), { secret: 'test-secret', now: () => clock, ...options });
  return {
    core,
    tick(ms = 1000) {
      clock += ms;
    },
    async send(userId: string, convId: string, id: string, needReadReceipt = true, text = `hello ${id}`) {
      const res = await core.sendMessages(userId, { type: 'send-messages', messages: [{ id, convId, text, needReadReceipt, createdAt: clock }] });
      return res.results[0]!;
    },
    async ack(userId: string, ids: readonly string[], t = clock, batchId = bid()): Promise<AckBatchResponse> {
      const acks: Ack[] = ids.map((m) => ({ m, t }));
      return core.ackBatch(userId, { type: 'ack-batch', batchId, acks });
    },
    async receipt(userId: string, id: string) {
      const res = await core.queryReceipts(userId, { type: 'receipt-query', messageIds: [id] });
      return res.receipts[0];
    },
    /** Every page of a member list, fetched `count` at a time. */
    async allPages(userId: string, messageId: string, filter: 'read' | 'unread', count: number) {
      const pages: ReadMember[][] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 10_000; i++) {
        const { page } = await core.memberPage(userId, { type: 'member-page', messageId, filter, cursor, count });
        pages.push(page.members);
        if (page.isFinished) {
          if (page.nextCursor !== null) throw new Error('finished page with a cursor');
          return pages;
        }
        cursor = page.nextCursor;
      }
      throw new Error('paging never finished');
    },
    /** Subscribes and records events; resolves once the hello (and the replay after `since`) has arrived. */
    async listen(userId: string, since: number | null = null) {
      const events: ServerEvent[] = [];
      const stop = core.subscribe(userId, since, (e) => events.push(e));
      await settle();
      return { events, stop };
    },
  };
}

/** Lets queued microtasks (coalesced receipt flushes) run. */
export const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
