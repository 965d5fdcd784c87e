/**
 * Seeded random schedules against the reference rules: every seed builds a
 * world (alice's group with bob and carol, each on their own device), then
 * runs a random sequence of operations:
 *
 *   markRead of random messages (from a random tab) · read positions
 *   (markConversationRead up to a random message) · sending messages ·
 *   time passing ·
 *   offline/online periods (the online signal forwarded, or not) · server 5xx ·
 *   429 with Retry-After · replies lost after the server applied the request ·
 *   requests that hang until the timeout (applied or not) · a worker crashing
 *   at a random point of a flush (connection closed, lease left behind) ·
 *   reloads (stop, close, reopen) · extra tabs on the same database ·
 *   and, with every tab running the sync engine (scheduleHistory.ts): a
 *   second group that users join, leave and rejoin while alice posts into it ·
 *   loadOlder paging back · bulk sends committed together · catch-ups.
 *
 * Then the network heals and time runs until every outbox is empty. The
 * server must hold exactly the reads that markRead queued: per message the
 * set of readers equals the set of users who marked it, and readCount equals
 * that number (nothing lost, nothing counted twice), where a user who moved
 * their read position past a message counts as having marked it; every message sent is
 * on the server exactly once, in the order it was sent. And every device,
 * once caught up and paged back, holds every message it may see once, in
 * order, and none it may not; and once its deliveries are out, each message
 * that asked for receipts counts as delivered to exactly the audience
 * members whose device stored it or who read it (scheduleDeliveries.ts).
 *
 * READSYNC_SEEDS=n changes the number of seeds; READSYNC_SEED=k runs one.
 */
import { expect, vi } from 'vitest';
import { TransientError, hasErrorCode } from '../../../src/protocol';
import { enqueueConversationRead } from '../../../worker/store/readPositions';
import type { Message } from '../../../src/protocol';
import type { MemoryTransport } from '../../../worker/transport/MemoryTransport';
import { GROUP, SENDER, T0, advance, enqueueSend, hangingTransport, markRead, mulberry32, openTab, settle, storeDelivered, World, type Tab } from './harness';
import { ackStatuses } from '../harness';
import { ScheduleHistory } from './scheduleHistory';
import { checkDeliveries } from './scheduleDeliveries';
import { saveConfig } from '../../../worker/store/meta';

const USERS = ['bob', 'carol'] as const;
const OPS = 30;

interface Device {
  user: string;
  /** The device's network (fault injection). */
  mem: MemoryTransport;
  /** What its workers use: `mem`, plus requests that hang. */
  net: ReturnType<typeof hangingTransport>;
  offline: boolean;
  tabs: Tab[];
  /** Every tab ever opened, to clean up. */
  all: Tab[];
  marked: Set<string>;
  /** Highest read position queued in the group (0: none). */
  position: number;
  /** Ids of messages this user sent, in enqueue order. */
  sent: string[];
  /** Last enqueue stamp: strictly increasing, as the worker core stamps them. */
  stamp: number;
}

/** Options of a schedule: `nodes` > 1 spreads every request over that many server nodes, which crash now and then. */
export interface ScheduleOptions {
  nodes?: number;
}

export async function runSchedule(seed: number, options: ScheduleOptions = {}): Promise<void> {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number) => rnd() < p;
  const tag = `seed ${seed}${options.nodes ? ` on ${options.nodes} nodes` : ''} (rerun: READSYNC_SEED=${seed})`;

  const world = await World.create([...USERS], options.nodes && options.nodes > 1 ? { nodes: options.nodes, random: mulberry32(seed * 7919) } : undefined);
  const withReceipts = await world.post(14);
  const [noReceipt] = await world.post(1, false);
  const all: Message[] = [...withReceipts, noReceipt!];
  const history = await ScheduleHistory.create(world, rnd);
  let tabSeed = seed * 1000;

  const open = async (d: Device): Promise<Tab> => {
    const tab = await openTab(world, d.user, {
      transport: d.net,
      random: mulberry32(++tabSeed),
      flush: { ackBatchSize: 2 + Math.floor(rnd() * 4), backoffBaseMs: 500, backoffMaxMs: 20_000, requestTimeoutMs: 10_000 },
      lease: { ttlMs: 15_000, renewMs: 5_000 },
    });
    if (d.offline && chance(0.7)) tab.flusher.setOnline(false);
    d.tabs.push(tab);
    d.all.push(tab);
    history.attach(tab, d);
    return tab;
  };

  const devices: Device[] = [];
  for (const user of USERS) {
    const mem = world.transport(user);
    const d: Device = { user, mem, net: hangingTransport(mem), offline: false, tabs: [], all: [], marked: new Set(), position: 0, sent: [], stamp: 0 };
    devices.push(d);
    const tab = await open(d);
    // The device knows the server (its config cached, as a worker keeps it), and has stored alice's
    // messages with their delivery queued in the same transaction.
    await saveConfig(tab.db, world.core.getConfig());
    await storeDelivered(tab.db, all, user);
  }

  /** Kills or reloads a tab, possibly in the middle of a flush. */
  const interrupt = async (d: Device, how: 'crash' | 'reload') => {
    const tab = pick(d.tabs);
    tab.flusher.notifyEnqueued();
    vi.advanceTimersByTime(60); // past the debounce: a flush may be starting
    await settle(Math.floor(rnd() * 12));
    history.detach(tab);
    if (how === 'crash') tab.db.close();
    else {
      await tab.flusher.stop();
      tab.db.close();
    }
    d.tabs.splice(d.tabs.indexOf(tab), 1);
    if (d.tabs.length === 0 || chance(0.5)) await open(d);
  };

  try {
    for (let op = 0; op < OPS; op++) {
      const d = pick(devices);
      if (chance(0.25)) {
        await history.step(d, pick(d.tabs));
        continue;
      }
      const r = rnd();
      if (chance(0.08)) {
        // Read the group up to a message that asked for receipts (never past them: the last one posted has none).
        const tab = pick(d.tabs);
        const upTo = pick(withReceipts);
        try {
          const done = await enqueueConversationRead(tab.db, GROUP, upTo.id, Date.now());
          d.position = Math.max(d.position, done.result.position);
        } catch (err) {
          if (!hasErrorCode(err, 'not-found')) throw err; // this tab has not stored the group yet
        }
        tab.flusher.notifyEnqueued();
      } else if (r < 0.35) {
        const tab = pick(d.tabs);
        const ids = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(all).id);
        await markRead(tab.db, ids, Date.now());
        for (const id of ids) d.marked.add(id);
        tab.flusher.notifyEnqueued();
      } else if (r < 0.43) {
        const tab = pick(d.tabs);
        const id = `snd${d.user}${String(d.sent.length).padStart(5, '0')}`;
        d.stamp = Math.max(Date.now(), d.stamp + 1);
        await enqueueSend(tab.db, { id, convId: GROUP, text: `from ${d.user}`, needReadReceipt: chance(0.5), createdAt: Date.now() }, d.user, d.stamp);
        d.sent.push(id);
        tab.flusher.notifyEnqueued();
      } else if (r < 0.58) {
        await advance(Math.floor(rnd() * (chance(0.3) ? 20_000 : 1_500)), 500, 15);
      } else if (r < 0.67) {
        d.offline = !d.offline;
        d.mem.setOffline(d.offline);
        // The UI forwards the signal, or it is missed (a lying navigator.onLine, a tab in the background).
        for (const t of d.tabs) if (chance(0.6)) t.flusher.setOnline(!d.offline);
      } else if (r < 0.8) {
        const fault = Math.floor(rnd() * 4);
        const kind = chance(0.3) ? 'sendMessages' : 'ackBatch';
        if (fault === 0) d.mem.failNext(kind, () => new TransientError('server', 'HTTP 503', { status: 503 }), 1 + Math.floor(rnd() * 3));
        else if (fault === 1) d.mem.failNext(kind, () => new TransientError('rate-limited', 'HTTP 429', { status: 429, retryAfterMs: 1_000 + Math.floor(rnd() * 8_000) }), 1);
        else if (fault === 2) d.mem.dropReplyNext(kind, 1);
        else d.net.hangNext(1, chance(0.5));
        // Several nodes: the node that takes the next such request applies it, then dies before answering.
        if (world.cluster && chance(0.5)) world.cluster.crashAfterNext(kind);
      } else if (r < 0.88) {
        await interrupt(d, 'crash');
      } else if (r < 0.95) {
        await interrupt(d, 'reload');
      } else if (d.tabs.length < 3) {
        await open(d);
      } else {
        pick(d.tabs).flusher.setVisible(true);
      }
    }

    // The network heals and the signals get through; time runs until every queue is empty.
    for (const d of devices) {
      d.offline = false;
      d.mem.setOffline(false);
      for (const t of d.tabs) t.flusher.setOnline(true);
    }
    const pending = async () => {
      let n = 0;
      for (const d of devices) n += await d.tabs[0]!.db.outbox.count();
      return n;
    };
    for (let waited = 0; waited < 30 * 60_000 && (await pending()) > 0; waited += 5_000) await advance(5_000, 1_000, 15);
    for (const d of devices) for (const t of d.tabs) await t.flusher.whenIdle();

    if (process.env.READSYNC_STATS) {
      const log = devices.flatMap((d) => world.transport(d.user).log);
      const by = (o: string) => log.filter((e) => e.outcome === o).length;
      console.log(`${tag}: node crashes ${world.cluster?.crashes ?? 0}, virtual ${Math.round((Date.now() - T0) / 1000)} s, tabs ${devices.map((d) => d.all.length)}, requests ok ${by('ok')} error ${by('error')} offline ${by('offline')} dropped ${by('dropped')}, marked ${devices.map((d) => d.marked.size)}, positions ${devices.map((d) => d.position)}`);
    }
    expect(await pending(), `${tag}: outbox not empty`).toBe(0);
    const counts = await world.readCount(withReceipts.map((m) => m.id));
    for (const m of withReceipts) {
      const expected = devices.filter((d) => d.marked.has(m.id) || d.position >= m.seq).map((d) => d.user);
      expect(world.readersOf(m.id).sort(), `${tag}: readers of ${m.id}`).toEqual(expected);
      expect(counts.get(m.id), `${tag}: readCount of ${m.id}`).toBe(expected.length);
    }
    expect(world.readersOf(noReceipt!.id), `${tag}: a message without receipts`).toEqual([]);
    // Every message sent is on the server once, in the order it was sent, and shows as sent locally.
    const onServer = (await world.core.pullMessages(SENDER, { type: 'pull-messages', since: {}, limit: 1000 })).messages.filter((m) => m.convId === GROUP);
    for (const d of devices) {
      const mine = onServer.filter((m) => m.senderId === d.user).sort((a, b) => a.seq - b.seq);
      expect(mine.map((m) => m.id), `${tag}: ${d.user}'s messages on the server`).toEqual(d.sent);
      const local = await d.tabs[0]!.db.messages.bulkGet(d.sent);
      expect(local.map((m) => m?.status), `${tag}: ${d.user}'s messages locally`).toEqual(d.sent.map(() => 'sent'));
      expect(local.map((m) => m?.seq), `${tag}: ${d.user}'s message positions`).toEqual(mine.map((m) => m.seq));
    }
    for (const d of devices) {
      const marked = [...d.marked];
      const statuses = await ackStatuses(d.tabs[0]!.db, marked);
      marked.forEach((id, i) => {
        const want = id === noReceipt!.id ? 'rejected' : 'sent';
        expect(statuses[i], `${tag}: ${d.user}'s ack of ${id}`).toBe(want);
      });
    }
    await history.check(devices, tag);
    // What the devices stored while catching up above queued deliveries: out they go, then each is counted once.
    for (let waited = 0; waited < 30 * 60_000 && (await pending()) > 0; waited += 5_000) await advance(5_000, 1_000, 15);
    expect(await pending(), `${tag}: deliveries left in an outbox`).toBe(0);
    await checkDeliveries(world, devices, history.receiptAudiences(), tag);
  } finally {
    history.stop();
    for (const d of devices) {
      for (const t of d.all) {
        await t.flusher.stop().catch(() => {});
        t.db.close();
      }
    }
  }
}

