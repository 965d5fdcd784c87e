/**
 * Test world for the outbox: the reference rules (SyncCore over MemoryStore)
 * behind MemoryTransport, one fake-indexeddb "browser profile" per test, and
 * tabs = (Dexie connection + Flusher) on a user's database.
 */
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, beforeEach, vi } from 'vitest';
import type { Message, OutgoingMessage, ReceiptMode } from '../../../src/protocol';
import { SyncCore } from '../../../src/server/core/SyncCore';
import { MemoryStore } from '../../../src/server/store/MemoryStore';
import type { ReadRecord } from '../../../src/server/store/Store';
import { ReadSyncDb, type AckOutboxRow, type MessageRow } from '../../../worker/db/ReadSyncDb';
import { readNow } from '../../../worker/store/enqueueMarkRead';
import { sendNow } from '../../../worker/store/enqueueMessage';
import { reserveAckSeqs } from '../../../worker/store/meta';
import { deliveryRangesOf, queueDeliveries } from '../../../worker/store/deliveries';
import { Flusher } from '../../../worker/outbox/Flusher';
import type { FlushStatus, KickChannel } from '../../../worker/outbox/FlusherContract';
import { LeaseLeaderLock } from '../../../worker/outbox/LeaseLeaderLock';
import { MemoryTransport } from '../../../worker/transport/MemoryTransport';
import { ClusterBackend, FeedMemoryStore } from '../../support/clusterBackend';
import type { Transport } from '../../../worker/transport/Transport';
import type { FlushOptions } from '../../../src/bridge';

export const T0 = 1_700_000_000_000;

/** Fake setTimeout/Date only: fake-indexeddb schedules its work with the real setImmediate. */
export function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: T0 });
}

/** Lets pending IndexedDB work and promise chains run (real macrotasks, fake clock untouched). */
export async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Advances the fake clock in steps, letting async work finish after each step: deterministic for a given sequence. */
export async function advance(ms: number, step = 250, rounds = 30): Promise<void> {
  let left = ms;
  while (left > 0) {
    const d = Math.min(step, left);
    vi.advanceTimersByTime(d);
    left -= d;
    await settle(rounds);
  }
}

/** A deterministic in-memory stand-in for BroadcastChannel (delivery on a microtask). */
export class KickBus {
  private members = new Set<KickChannel>();
  channel(): KickChannel {
    const bus = this.members;
    const ch: KickChannel = {
      onmessage: null,
      postMessage(data: unknown) {
        for (const other of bus) if (other !== ch) queueMicrotask(() => other.onmessage?.({ data }));
      },
      close() {
        bus.delete(ch);
      },
    };
    bus.add(ch);
    return ch;
  }
}

export { mulberry32 } from '../../support/mulberry32';

export const SENDER = 'alice';
export const GROUP = 'team';

/** The server and a group with `readers`; alice sends messages that ask for receipts. */
export class World {
  private readonly store: MemoryStore;
  /** The server as the test reads it (with `cluster`: one more node on the same store). */
  readonly core: SyncCore;
  /** Several nodes the devices' requests are spread over (`create(readers, { nodes })`), or none. */
  readonly cluster: ClusterBackend | null;
  readonly idb = new IDBFactory();
  private buses = new Map<string, KickBus>();
  private transports = new Map<string, MemoryTransport>();
  private seq = 0;

  private constructor(
    readonly readers: string[],
    cluster?: { nodes: number; random: () => number },
  ) {
    const options = { now: () => Date.now() };
    this.store = cluster ? new FeedMemoryStore() : new MemoryStore();
    this.core = new SyncCore(this.store, options);
    this.cluster = cluster ? new ClusterBackend(this.store as FeedMemoryStore, cluster.nodes, cluster.random, options) : null;
  }

  /** A world whose group (sender and readers) exists on the server; with `nodes`, a server of that many nodes. */
  static async create(readers: string[] = ['bob', 'carol'], cluster?: { nodes: number; random: () => number }): Promise<World> {
    const world = new World(readers, cluster);
    await world.core.admin.createGroup({ id: GROUP, name: 'Team', groupType: 'work', members: [SENDER, ...readers] });
    return world;
  }

  /**
   * One transport per device: a device's network is shared by its tabs.
   * `device` names a further device of `user` (its own network, database and
   * tab channel); without it, the user's first device.
   */
  transport(user: string, device = user): MemoryTransport {
    let t = this.transports.get(device);
    if (!t) this.transports.set(device, (t = new MemoryTransport(this.cluster ?? this.core, user)));
    return t;
  }

  /** alice posts `n` messages (with receipts unless told otherwise), straight into the server. */
  async post(n: number, needReadReceipt = true): Promise<Message[]> {
    const messages = Array.from({ length: n }, () => ({
      id: `m${String(++this.seq).padStart(9, '0')}`,
      convId: GROUP,
      text: `hello ${this.seq}`,
      needReadReceipt,
      createdAt: Date.now(),
    }));
    const out: Message[] = [];
    for (let i = 0; i < messages.length; i += 100) {
      const res = await this.core.sendMessages(SENDER, { type: 'send-messages', messages: messages.slice(i, i + 100) });
      for (const r of res.results) out.push(r.message!);
    }
    return out;
  }

  /** The tabs of one browser (a user's device: `transport`) talk over one channel. */
  bus(device: string): KickBus {
    let b = this.buses.get(device);
    if (!b) this.buses.set(device, (b = new KickBus()));
    return b;
  }

  /** The database of a device (by default the user's first one: see `transport`). */
  openDb(device: string): ReadSyncDb {
    return new ReadSyncDb(`readsync-${device}`, { indexedDB: this.idb, IDBKeyRange });
  }

  /** Who the server recorded as public readers of a message (one row per reader; private reads are left out). */
  readersOf(messageId: string): string[] {
    return this.store.data.readsAfter(messageId, 0, 1_000_000).map((r) => r.userId);
  }

  /** The server's read of a message by a user, public or private (undefined: none). */
  readOf(messageId: string, userId: string): ReadRecord | undefined {
    return this.store.data.getRead(messageId, userId);
  }

  /** A user's read position in a conversation as the server keeps it (0: none). */
  positionOf(convId: string, userId: string): number {
    return this.store.data.getReadPosition(convId, userId)?.seq ?? 0;
  }

  /** A user's receipt mode as the server keeps it. */
  receiptModeOf(userId: string): ReceiptMode {
    return this.store.data.getReceiptMode(userId);
  }

  /** alice's receipt counts, as the server reports them. */
  async readCount(messageIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < messageIds.length; i += 500) {
      const res = await this.core.queryReceipts(SENDER, { type: 'receipt-query', messageIds: messageIds.slice(i, i + 500) });
      for (const r of res.receipts) out.set(r.messageId, r.readCount);
    }
    return out;
  }
}

/**
 * Stores delivered messages in a reader's database, as the sync engine would
 * after a pull. With `reader`, the messages from others are unread (in the
 * unread index, as the engine stores them), and their delivery (issue 10.5)
 * is queued in the same transaction, as the engine does for a server
 * announcing it: the messages from others that asked for receipts, as one
 * complete run.
 */
export async function storeDelivered(db: ReadSyncDb, messages: Message[], reader?: string): Promise<void> {
  const rows: MessageRow[] = messages.map((m) => ({ ...m, createdAt: m.sentAt, status: 'sent', ackStatus: 'none', pos: m.seq }));
  if (reader === undefined) return void (await db.messages.bulkPut(rows));
  for (const row of rows) if (row.senderId !== reader) row.unread = row.pos;
  const delivered = messages.filter((m) => m.senderId !== reader && m.needReadReceipt);
  await db.transaction('rw', [db.messages, db.outbox], async () => {
    await db.messages.bulkPut(rows);
    await queueDeliveries(db, deliveryRangesOf(delivered, true));
  });
}

/**
 * The durable half of markRead as the worker core stores it (message rows
 * and ordered ack rows in one transaction), WITHOUT its client-side rules, so
 * a test can queue an ack the server must refuse. Returns how many were queued.
 */
export async function markRead(db: ReadSyncDb, ids: string[], readAt = Date.now()): Promise<number> {
  let queued = 0;
  await db.transaction('rw', [db.messages, db.outbox, db.meta], async () => {
    const rows = await db.messages.bulkGet(ids);
    const first = await reserveAckSeqs(db, ids.length);
    const put: MessageRow[] = [];
    const acks: AckOutboxRow[] = [];
    rows.forEach((row, i) => {
      if (!row || row.ackStatus !== 'none') return;
      const [next, ack] = readNow(row, readAt, first + i);
      put.push(next);
      acks.push(ack);
    });
    await db.messages.bulkPut(put);
    await db.outbox.bulkPut(acks);
    queued = acks.length;
  });
  return queued;
}

/** What the worker core's sendMessage stores (`sendNow`), in one transaction, with a send order the test picks. */
export async function enqueueSend(db: ReadSyncDb, out: OutgoingMessage, userId: string, enqueuedAt: number): Promise<void> {
  const [row, queued] = sendNow(out, 'group', userId, enqueuedAt);
  await db.transaction('rw', [db.messages, db.outbox], async () => {
    await db.messages.add(row);
    await db.outbox.put(queued);
  });
}

export interface Tab {
  db: ReadSyncDb;
  flusher: Flusher;
  statuses: FlushStatus[];
  lock: LeaseLeaderLock;
}

/** A worker on the database of `user`'s device (`device`, default their first): its own connection, flusher and leader lock. */
export async function openTab(
  world: World,
  user: string,
  options: { transport?: Transport; flush?: FlushOptions; random?: () => number; start?: boolean; lease?: { ttlMs: number; renewMs: number }; device?: string } = {},
): Promise<Tab> {
  const device = options.device ?? user;
  const db = world.openDb(device);
  await db.open();
  const statuses: FlushStatus[] = [];
  const lock = new LeaseLeaderLock(db, { ...(options.lease ?? { ttlMs: 10_000, renewMs: 2_000 }), now: () => Date.now() });
  const flusher = new Flusher({
    db,
    transport: options.transport ?? world.transport(user, device),
    userId: user,
    limits: () => world.core.config.limits,
    options: options.flush ?? {},
    now: () => Date.now(),
    random: options.random ?? (() => 0.5),
    onStatus: (s) => statuses.push(s),
    lock,
    kick: world.bus(device).channel(),
  });
  if (options.start !== false) await flusher.start();
  return { db, flusher, statuses, lock };
}

/** A transport that records when each request started (fake clock), for asserting retry schedules. */
export function timedTransport(inner: Transport): Transport & { times: Record<string, number[]> } {
  const times: Record<string, number[]> = {};
  const wrap = <K extends keyof Transport>(name: K) =>
    ((...args: unknown[]) => {
      (times[name] ??= []).push(Date.now() - T0);
      return (inner[name] as (...a: unknown[]) => unknown)(...args);
    }) as Transport[K];
  return {
    times,
    getConfig: wrap('getConfig'),
    sendMessages: wrap('sendMessages'),
    pullMessages: wrap('pullMessages'),
    ackBatch: wrap('ackBatch'),
    queryReceipts: wrap('queryReceipts'),
    memberPage: wrap('memberPage'),
    history: wrap('history'),
    settings: wrap('settings'),
    openEvents: wrap('openEvents'),
  };
}

/** Makes the next `n` ack requests hang (never answer); `applied` decides whether the server saw them first. */
export function hangingTransport(inner: Transport): Transport & { hangNext(n: number, applied: boolean): void } {
  const queue: boolean[] = [];
  return {
    hangNext(n, applied) {
      for (let i = 0; i < n; i++) queue.push(applied);
    },
    ackBatch(req) {
      const hang = queue.shift();
      if (hang === undefined) return inner.ackBatch(req);
      if (hang) void inner.ackBatch(req).catch(() => {});
      return new Promise(() => {});
    },
    getConfig: () => inner.getConfig(),
    sendMessages: (req) => inner.sendMessages(req),
    pullMessages: (req) => inner.pullMessages(req),
    queryReceipts: (req) => inner.queryReceipts(req),
    settings: (req) => inner.settings(req),
    memberPage: (req) => inner.memberPage(req),
    history: (req) => inner.history(req),
    openEvents: (since, handlers) => inner.openEvents(since, handlers),
  };
}

/** Fires timers one at a time (the clock jumps exactly to each), settling after each, until `done()` or `max` timers. */
export async function runTimersUntil(done: () => boolean, max = 1000): Promise<void> {
  for (let i = 0; i < max && !done(); i++) {
    vi.advanceTimersToNextTimer();
    await settle();
  }
}

/** A `random` that returns the given values in turn (then repeats the last). */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}

/**
 * For a describe block: a fake clock per test, and every tab pushed into the
 * returned list is stopped and closed after each test.
 */
export function trackTabs(): Tab[] {
  const tabs: Tab[] = [];
  beforeEach(() => useFakeClock());
  afterEach(async () => {
    for (const t of tabs.splice(0)) {
      await t.flusher.stop();
      t.db.close();
    }
    vi.useRealTimers();
  });
  return tabs;
}
