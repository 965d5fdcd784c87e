/**
 * Seeded random schedules against the reference rules: every seed builds a
 * world (alice's group with bob and carol; bob on two devices, his laptop and
 * his phone, each with its own database, network and faults; carol on one),
 * then runs a random sequence of operations on random devices:
 *
 *   markRead of random messages (from a random tab) · read positions
 *   (markConversationRead up to a random message) · switching the receipt
 *   mode (setReceiptMode private or public) · sending messages ·
 *   time passing ·
 *   offline/online periods (the online signal forwarded, or not) · server 5xx ·
 *   429 with Retry-After · replies lost after the server applied the request ·
 *   requests that hang until the timeout (applied or not) · a worker crashing
 *   at a random point of a flush (connection closed, lease left behind) ·
 *   reloads (stop, close, reopen) · extra tabs on the same database ·
 *   and, with every tab running the sync engine (scheduleHistory.ts): a
 *   second group that users join, leave and rejoin while alice posts into it ·
 *   loadOlder paging back · bulk sends committed together · catch-ups. A
 *   device learns what its user did on the other one (reads, positions, the
 *   mode) only through the server: `my-reads` and `settings` events and pulls.
 *
 * Then the network heals and time runs until every outbox is empty. The
 * server must hold exactly the reads the users made, each as it was made
 * (docs/protocol.md, "Private reads"): every read (an ack, or a read position
 * covering the message) carries a time unique to its user, and per message
 * and user the server holds one read if the user made any on any device and
 * none otherwise; that read is one the user made (its time), and it is
 * private exactly when that read was made private: while its device knew the
 * mode as private, or merged into a queued private position (the documented
 * caveat). Of several reads of one message (two devices, offline queues,
 * crashes) the one that reached the server first decides; the schedule cannot
 * tell which one that was, but the server's read names it, and it must be
 * kept as it was made. So a message read only publicly is counted, one read
 * only privately never is. The public readers are those users, once each,
 * and readCount is their number. Every message sent is on the server exactly once, in the order its
 * device sent it. And every device, once caught up and paged back, holds
 * every message it may see once, in order, and none it may not; its unread
 * counts, read position and per-message read state are those of the server's
 * reads, so all devices of a user agree; all of them read with the mode the
 * server ended with, which is the last mode some device set (last writer
 * wins); and once its deliveries are out, each message that asked for
 * receipts counts as delivered to exactly the audience members one of whose
 * devices stored it or who read it (scheduleDeliveries.ts).
 *
 * READSYNC_SEEDS=n changes the number of seeds; READSYNC_SEED=k runs one.
 */
import { expect, vi } from 'vitest';
import Dexie from 'dexie';
import { TransientError, hasErrorCode, type ReceiptMode } from '../../../src/protocol';
import { enqueueConversationRead, positionKey } from '../../../worker/store/readPositions';
import { enqueueMarkRead } from '../../../worker/store/enqueueMarkRead';
import { enqueueReceiptMode, loadQueuedSettings, loadReceiptMode } from '../../../worker/store/receiptMode';
import { loadConversationSummaries } from '../../../worker/subscriptions/loadConversationSummaries';
import { ackKey } from '../../../worker/db/ackKeys';
import type { PositionOutboxRow } from '../../../worker/db/ReadSyncDb';
import type { Message } from '../../../src/protocol';
import type { MemoryTransport } from '../../../worker/transport/MemoryTransport';
import { GROUP, SENDER, T0, advance, enqueueSend, hangingTransport, markRead, mulberry32, openTab, settle, storeDelivered, World, type Tab } from './harness';
import { ackStatuses } from '../harness';
import { SIDE, ScheduleHistory } from './scheduleHistory';
import { checkDeliveries } from './scheduleDeliveries';
import { saveConfig } from '../../../worker/store/meta';

const USERS = ['bob', 'carol'] as const;
/** The devices: bob's laptop and phone, carol's one. A device's name keys its database, network and ids. */
const DEVICES: readonly { user: string; name: string }[] = [
  { user: 'bob', name: 'bob' },
  { user: 'bob', name: 'bobphone' },
  { user: 'carol', name: 'carol' },
];
const OPS = 30;

interface Device {
  user: string;
  name: string;
  /** The device's network (fault injection). */
  mem: MemoryTransport;
  /** What its workers use: `mem`, plus requests that hang. */
  net: ReturnType<typeof hangingTransport>;
  offline: boolean;
  tabs: Tab[];
  /** Every tab ever opened, to clean up. */
  all: Tab[];
  /** Ids markRead was called with on this device. */
  marked: Set<string>;
  /** Ids sent from this device, in enqueue order. */
  sent: string[];
  /** Last enqueue stamp: strictly increasing, as the worker core stamps them. */
  stamp: number;
  /** Receipt modes set on this device, in order. */
  modes: ReceiptMode[];
}

/**
 * A read a user made on one of their devices, as the server may get it: an
 * ack of one message, or a read position (the outbox row as it was written)
 * covering every message up to `seq`. `at` is unique per user, so the read
 * the server kept tells which one it was.
 */
interface MadeRead {
  at: number;
  private: boolean;
  device: string;
  messageId?: string;
  seq?: number;
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

  /** Every read made, per user. */
  const made = new Map<string, MadeRead[]>(USERS.map((u) => [u, []]));
  const lastReadAt = new Map<string, number>();
  /** A read time: now, and unique per user (so a read on the server names the read it came from). */
  const readTime = (user: string): number => {
    const at = Math.max(Date.now(), (lastReadAt.get(user) ?? 0) + 1);
    lastReadAt.set(user, at);
    return at;
  };

  const open = async (d: Device): Promise<Tab> => {
    const tab = await openTab(world, d.user, {
      device: d.name,
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
  for (const { user, name } of DEVICES) {
    const mem = world.transport(user, name);
    const d: Device = { user, name, mem, net: hangingTransport(mem), offline: false, tabs: [], all: [], marked: new Set(), sent: [], stamp: 0, modes: [] };
    devices.push(d);
    const tab = await open(d);
    // The device knows the server (its config cached, as a worker keeps it), and has stored alice's
    // messages with their delivery queued in the same transaction.
    await saveConfig(tab.db, world.core.getConfig());
    await storeDelivered(tab.db, all, user);
    // Some users start by making their receipts private on one of their devices.
    if (chance(0.2)) {
      await enqueueReceiptMode(tab.db, 'private', Date.now());
      d.modes.push('private');
    }
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

  /** markRead as the worker core stores it, noting each ack queued with the mode its transaction read. */
  const read = async (d: Device, tab: Tab, ids: string[]) => {
    const { db } = tab;
    const at = readTime(d.user);
    const { mode, acks } = await db.transaction('rw', [db.messages, db.outbox, db.meta], async () => {
      const mode = await loadReceiptMode(db);
      const { rows } = await enqueueMarkRead(db, ids, d.user, at);
      return { mode, acks: await db.outbox.bulkGet(rows.map((r) => ackKey(r.ackSeq!))) };
    });
    for (const ack of acks) {
      if (ack?.kind !== 'ack') throw new Error(`${tag}: markRead on ${d.name} queued no ack row`);
      // A read made while this device knew the mode as private is private (fixed now).
      expect(ack.private === 1, `${tag}: ${d.name}'s ack of ${ack.messageId} made while ${mode}`).toBe(mode === 'private');
      made.get(d.user)!.push({ at, private: mode === 'private', device: d.name, messageId: ack.messageId });
    }
    // The message without receipts: queued anyway (without the core's rules), for the server to refuse.
    if (ids.includes(noReceipt!.id)) await markRead(db, [noReceipt!.id], at);
  };

  /** markConversationRead up to `upTo`, noting the position row it wrote (merged into the queued one, if any). */
  const readUpTo = async (d: Device, tab: Tab, upTo: Message) => {
    const { db } = tab;
    const at = readTime(d.user);
    const key = positionKey(GROUP);
    let out;
    try {
      out = await db.transaction('rw', [db.conversations, db.messages, db.outbox, db.meta], async () => {
        const [before, mode] = await Promise.all([db.outbox.get(key) as Promise<PositionOutboxRow | undefined>, loadReceiptMode(db)]);
        const done = await enqueueConversationRead(db, GROUP, upTo.id, at);
        return { before, mode, done, after: (await db.outbox.get(key)) as PositionOutboxRow | undefined };
      });
    } catch (err) {
      if (!hasErrorCode(err, 'not-found')) throw err; // this tab has not stored the group yet
      return;
    }
    const { before, mode, done, after } = out;
    if (!done.queued) return; // at or below my position: nothing read
    // The position moved past any queued one (a queued one never passes my position), so the row is this read.
    expect(after, `${tag}: ${d.name}'s position row`).toMatchObject({ seq: done.result.position, readAt: at });
    // Private if made while private, or merged into a queued private one (docs: the merge caveat).
    expect(after!.private === 1, `${tag}: ${d.name}'s position made while ${mode}, queued ${before ? JSON.stringify(before) : 'none'}`).toBe(mode === 'private' || before?.private === 1);
    made.get(d.user)!.push({ at, private: after!.private === 1, device: d.name, seq: after!.seq });
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
        await readUpTo(d, tab, pick(withReceipts));
        tab.flusher.notifyEnqueued();
      } else if (chance(0.1)) {
        // The user switches their receipt mode on this device (offline too): at once here, the others
        // learn from the server. Mostly to the other mode than this device knows; now and then the same.
        const tab = pick(d.tabs);
        const known = await loadReceiptMode(tab.db);
        const mode: ReceiptMode = chance(0.8) === (known === 'public') ? 'private' : 'public';
        await enqueueReceiptMode(tab.db, mode, Date.now());
        d.modes.push(mode);
        tab.flusher.notifyEnqueued();
      } else if (r < 0.35) {
        const tab = pick(d.tabs);
        const ids = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(all).id);
        await read(d, tab, ids);
        for (const id of ids) d.marked.add(id);
        tab.flusher.notifyEnqueued();
      } else if (r < 0.43) {
        const tab = pick(d.tabs);
        const id = `snd${d.name}${String(d.sent.length).padStart(5, '0')}`;
        d.stamp = Math.max(Date.now(), d.stamp + 1);
        await enqueueSend(tab.db, { id, convId: GROUP, text: `from ${d.name}`, needReadReceipt: chance(0.5), createdAt: Date.now() }, d.user, d.stamp);
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
        const k = rnd();
        const kind = k < 0.3 ? 'sendMessages' : k < 0.4 ? 'settings' : 'ackBatch';
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
    /** What is left in the outboxes, per device (for a failure message). */
    const leftovers = async () => {
      const out: string[] = [];
      for (const d of devices) for (const row of await d.tabs[0]!.db.outbox.toArray()) out.push(`${d.name} ${JSON.stringify(row)}`);
      return out.join('; ');
    };
    /**
     * Time runs until every outbox is empty and stays so once the flushers are idle: the answer to a
     * device's last send reaches the others as a `messages` event, whose storing queues a delivery.
     */
    const drain = async () => {
      for (let waited = 0; waited < 30 * 60_000; waited += 5_000) {
        if ((await pending()) === 0) {
          for (const d of devices) for (const t of d.tabs) await t.flusher.whenIdle();
          await settle();
          if ((await pending()) === 0) return;
        }
        await advance(5_000, 1_000, 15);
      }
    };
    await drain();

    if (process.env.READSYNC_STATS) {
      const log = devices.flatMap((d) => d.mem.log);
      const by = (o: string) => log.filter((e) => e.outcome === o).length;
      const reads = [...made.values()].flat();
      // Messages a user read both publicly and privately (the first to reach the server decides).
      const mixed = USERS.flatMap((u) => withReceipts.filter((m) => new Set(made.get(u)!.filter((x) => x.messageId === m.id || (x.seq ?? 0) >= m.seq).map((x) => x.private)).size > 1));
      console.log(
        `${tag}: node crashes ${world.cluster?.crashes ?? 0}, virtual ${Math.round((Date.now() - T0) / 1000)} s, tabs ${devices.map((d) => d.all.length)}, requests ok ${by('ok')} error ${by('error')} offline ${by('offline')} dropped ${by('dropped')}, marked ${devices.map((d) => d.marked.size)}, reads ${reads.length} (private ${reads.filter((x) => x.private).length}, positions ${reads.filter((x) => x.seq !== undefined).length}, read both ways ${mixed.length}), modes ${devices.map((d) => d.modes.join('/') || '-')}`,
      );
    }
    expect(await pending(), `${tag}: outbox not empty: ${await leftovers()}`).toBe(0);
    // Per message and user: one read on the server if the user made any, none otherwise; it is one of
    // theirs (its time), public or private as that read was made. The public ones are the readers, once each.
    const counts = await world.readCount(withReceipts.map((m) => m.id));
    for (const m of withReceipts) {
      const readers = world.readersOf(m.id);
      expect(new Set(readers).size, `${tag}: a reader of ${m.id} twice: ${readers}`).toBe(readers.length);
      expect(counts.get(m.id), `${tag}: readCount of ${m.id}`).toBe(readers.length);
      for (const user of USERS) {
        const mine = made.get(user)!.filter((x) => x.messageId === m.id || (x.seq ?? 0) >= m.seq);
        const onServer = world.readOf(m.id, user);
        const what = `${tag}: ${user}'s read of ${m.id} (seq ${m.seq}; made ${JSON.stringify(mine)}; on the server ${JSON.stringify(onServer)})`;
        if (mine.length === 0) {
          expect(onServer, what).toBeUndefined();
          continue;
        }
        expect(onServer, what).toBeDefined();
        const first = mine.find((x) => x.at === onServer!.readAt);
        expect(first, `${what}: not a read ${user} made`).toBeDefined();
        expect(onServer!.private === true, `${what}: private`).toBe(first!.private);
        expect(readers.includes(user), `${what}: among the readers`).toBe(!first!.private);
        // The bounds: read only publicly is counted, read only privately never is.
        if (mine.every((x) => !x.private)) expect(readers, what).toContain(user);
        if (mine.every((x) => x.private)) expect(readers, what).not.toContain(user);
      }
    }
    expect(world.readersOf(noReceipt!.id), `${tag}: a message without receipts`).toEqual([]);
    for (const user of USERS) expect(world.readOf(noReceipt!.id, user), `${tag}: ${user}'s read of a message without receipts`).toBeUndefined();
    // Every message sent is on the server once, in the order its device sent it, and shows as sent there.
    const onServer = (await world.core.pullMessages(SENDER, { type: 'pull-messages', since: {}, limit: 1000 })).messages.filter((m) => m.convId === GROUP);
    for (const user of USERS) {
      const mine = onServer.filter((m) => m.senderId === user).sort((a, b) => a.seq - b.seq);
      const sentBy = devices.filter((d) => d.user === user);
      expect(mine.map((m) => m.id).sort(), `${tag}: ${user}'s messages on the server`).toEqual(sentBy.flatMap((d) => d.sent).sort());
      for (const d of sentBy) {
        const fromHere = mine.filter((m) => d.sent.includes(m.id));
        expect(fromHere.map((m) => m.id), `${tag}: ${d.name}'s messages on the server, in order`).toEqual(d.sent);
        const local = await d.tabs[0]!.db.messages.bulkGet(d.sent);
        expect(local.map((m) => m?.status), `${tag}: ${d.name}'s messages locally`).toEqual(d.sent.map(() => 'sent'));
        expect(local.map((m) => m?.seq), `${tag}: ${d.name}'s message positions`).toEqual(fromHere.map((m) => m.seq));
      }
    }
    for (const d of devices) {
      const marked = [...d.marked];
      const statuses = await ackStatuses(d.tabs[0]!.db, marked);
      marked.forEach((id, i) => {
        const want = id === noReceipt!.id ? 'rejected' : 'sent';
        expect(statuses[i], `${tag}: ${d.name}'s ack of ${id}`).toBe(want);
      });
    }
    await history.check(devices, tag);
    await checkMyDevices(world, devices, history, tag);
    // What the devices stored while catching up above queued deliveries: out they go, then each is counted once.
    await drain();
    expect(await pending(), `${tag}: deliveries left in an outbox: ${await leftovers()}`).toBe(0);
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

/**
 * After every device caught up and paged back (history.check): each device
 * of a user shows the server's view of that user's reads, so all of them
 * agree. Per conversation it holds whole (GROUP; SIDE while a member): the
 * read position is the server's; a message from someone else is read iff the
 * user has a read of it on the server (public or private, from any device) or
 * the position covers it, except a read the server refused (kept on the one
 * device that made it: nothing to sync); the unread count of the
 * conversation summary is what that leaves unread. The receipt mode of every
 * device is the server's, which is the last mode one of them set (last
 * writer wins), and no change waits.
 */
async function checkMyDevices(world: World, devices: readonly Device[], history: ScheduleHistory, tag: string): Promise<void> {
  for (const user of USERS) {
    const mine = devices.filter((d) => d.user === user);
    const mode = world.receiptModeOf(user);
    const lastModes = mine.filter((d) => d.modes.length > 0).map((d) => d.modes[d.modes.length - 1]!);
    expect(lastModes.length === 0 ? ['public'] : lastModes, `${tag}: ${user}'s mode on the server is the last one a device set`).toContain(mode);
    const unread = new Map<string, string[]>();
    for (const d of mine) {
      const { db } = d.tabs[0]!;
      expect(await loadReceiptMode(db), `${tag}: ${d.name}'s receipt mode`).toBe(mode);
      expect(await loadQueuedSettings(db), `${tag}: ${d.name}'s queued mode change`).toBeUndefined();
      const summaries = await db.transaction('r', [db.conversations, db.messages, db.outbox], () => loadConversationSummaries(db));
      for (const convId of [GROUP, SIDE]) {
        if (convId === SIDE && !history.isMember(user)) continue;
        const position = world.positionOf(convId, user);
        const summary = summaries.find((c) => c.id === convId);
        expect(summary, `${tag}: ${d.name} shows ${convId}`).toBeDefined();
        expect(summary!.readPosition, `${tag}: ${d.name}'s read position in ${convId}`).toBe(position);
        expect(summary!.unreadCountCapped, `${tag}: ${d.name}'s unread count of ${convId} capped`).toBe(false);
        const rows = await db.messages.where('[convId+pos]').between([convId, Dexie.minKey], [convId, Dexie.maxKey]).toArray();
        // Unread as the server's reads have it; read here only, because the server refused the read.
        const left: string[] = [];
        let refusedHere = 0;
        for (const row of rows) {
          if (row.senderId === user || row.seq === null) continue;
          const shouldBeRead = world.readOf(row.id, user) !== undefined || row.seq <= position;
          if (!shouldBeRead) left.push(row.id);
          if (row.ackStatus === 'rejected') {
            if (!shouldBeRead) refusedHere++;
            continue;
          }
          expect(row.readAt !== undefined, `${tag}: ${d.name}'s ${row.id} (seq ${row.seq}) read: server read ${JSON.stringify(world.readOf(row.id, user))}, position ${position}`).toBe(shouldBeRead);
        }
        expect(summary!.unreadCount, `${tag}: ${d.name}'s unread count of ${convId}`).toBe(left.length - refusedHere);
        // So all devices of the user agree (up to reads the server refused, each kept by the device that made it).
        const other = unread.get(convId);
        if (other) expect(left, `${tag}: ${user}'s devices show the same unread messages in ${convId}`).toEqual(other);
        else unread.set(convId, left);
      }
    }
  }
}
