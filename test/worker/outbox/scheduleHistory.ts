/**
 * The message-sync part of the seeded random schedules (issue 11): a second
 * group `side` whose membership changes (joins, leaves, rejoins) while alice
 * posts into it, every tab running the sync engine (event stream, catch-up
 * pulls of the newest window) and paging back with loadOlder, and bulk sends
 * committed in groups. At the end every device catches up and pages back to
 * the start of each conversation it belongs to, and then holds every message
 * it may see exactly once, in the server's order, and none it may not.
 */
import { expect } from 'vitest';
import { DEFAULT_LIMITS, type ConvType } from '../../../src/protocol';
import type { ReadSyncDb } from '../../../worker/db/ReadSyncDb';
import { HistoryLoader } from '../../../worker/HistoryLoader';
import { enqueueMessages } from '../../../worker/store/enqueueMessage';
import { SyncEngine } from '../../../worker/SyncEngine';
import type { Transport } from '../../../worker/transport/Transport';
import { GROUP, SENDER, type Tab, type World } from './harness';

export const SIDE = 'side';

/** A tab's sync: the engine (events, pulls) and history paging, on the tab's database. */
interface TabSync {
  engine: SyncEngine;
  history: HistoryLoader;
}

/** What a device is to these operations. */
export interface HistoryDevice {
  user: string;
  /** The device's name, unique among all devices (its ids are made of it). */
  name: string;
  net: Transport;
  tabs: Tab[];
  /** Ids sent from this device into GROUP, in send order. */
  sent: string[];
  stamp: number;
}

export class ScheduleHistory {
  private readonly syncs = new Map<Tab, TabSync>();
  /** Current members of SIDE besides alice, and where each one last left it. */
  private readonly members = new Set<string>(['bob']);
  private readonly leftAt = new Map<string, number>();
  /** See receiptAudiences. */
  private readonly audiences = new Map<string, Set<string>>();
  private posted = 0;

  private constructor(
    private readonly world: World,
    private readonly rnd: () => number,
    /** Newest messages per conversation a pull brings: small, so paging back is exercised. */
    private readonly window: number,
  ) {}

  static async create(world: World, rnd: () => number): Promise<ScheduleHistory> {
    const h = new ScheduleHistory(world, rnd, 2 + Math.floor(rnd() * 6));
    await world.core.admin.createGroup({ id: SIDE, name: 'Side', groupType: 'work', members: [SENDER, 'bob'] });
    await h.post(1 + Math.floor(rnd() * 20));
    return h;
  }

  /** Starts the sync of a newly opened tab. */
  attach(tab: Tab, d: HistoryDevice): void {
    const base = { db: tab.db, transport: d.net, userId: d.user, now: () => Date.now(), limits: () => DEFAULT_LIMITS };
    const engine = new SyncEngine({
      ...base,
      historyWindow: () => this.window,
      onConfig: () => undefined,
      onStreamStatus: () => undefined,
      onError: () => undefined, // background failures (offline, a closed database) are retried by the next catch-up
      // As the worker does: a delivery queued with stored messages pokes the flusher.
      onDeliveryQueued: () => tab.flusher.notifyEnqueued(),
    });
    const history = new HistoryLoader({ ...base, onNetworkError: () => undefined, onSuccess: () => undefined, onStored: () => undefined, onDeliveryQueued: () => tab.flusher.notifyEnqueued() });
    this.syncs.set(tab, { engine, history });
    void engine.start();
  }

  /** The tab crashed or reloads: its sync stops with it. */
  detach(tab: Tab): void {
    this.syncs.get(tab)?.engine.stop();
    this.syncs.delete(tab);
  }

  /** One random message-sync operation on device `d`. */
  async step(d: HistoryDevice, tab: Tab): Promise<void> {
    const r = this.rnd();
    const sync = this.syncs.get(tab);
    if (r < 0.15) {
      if (!this.members.has(d.user)) {
        await this.world.core.admin.join(SIDE, d.user);
        this.members.add(d.user);
      }
    } else if (r < 0.3) {
      if (this.members.has(d.user)) {
        const conv = await this.world.core.admin.leave(SIDE, d.user);
        this.members.delete(d.user);
        this.leftAt.set(d.user, conv.seq);
      }
    } else if (r < 0.5) {
      await this.post(1 + Math.floor(this.rnd() * 30));
    } else if (r < 0.75) {
      const convId = this.rnd() < 0.5 ? SIDE : GROUP;
      await sync?.history.loadOlder(convId, 1 + Math.floor(this.rnd() * 20), undefined);
    } else if (r < 0.9) {
      await this.bulkSend(d, tab.db);
    } else {
      await sync?.engine.catchUp();
    }
  }

  /** Several concurrent sends into GROUP, committed together: each call stored whole, in call order. */
  private async bulkSend(d: HistoryDevice, db: ReadSyncDb): Promise<void> {
    const calls = Array.from({ length: 1 + Math.floor(this.rnd() * 4) }, () =>
      Array.from({ length: 1 + Math.floor(this.rnd() * 6) }, () => {
        const id = `snd${d.name}${String(d.sent.length).padStart(5, '0')}`;
        d.sent.push(id);
        d.stamp = Math.max(Date.now(), d.stamp + 1);
        return { out: { id, convId: GROUP, text: `bulk from ${d.user}`, needReadReceipt: this.rnd() < 0.5, createdAt: d.stamp } };
      }),
    );
    const outcomes = await enqueueMessages(db, calls, d.user, (_item, conv): ConvType => conv?.type ?? 'group');
    expect(outcomes.every((o) => 'rows' in o)).toBe(true);
    (d.tabs[0] ?? null)?.flusher.notifyEnqueued();
  }

  private async post(n: number): Promise<void> {
    // Some ask for receipts, so deliveries are counted against a changing membership (issue 10.5).
    const receipts = this.rnd() < 0.5;
    const messages = Array.from({ length: n }, () => ({ id: `side${String(++this.posted).padStart(8, '0')}`, convId: SIDE, text: 'side', needReadReceipt: receipts, createdAt: Date.now() }));
    await this.world.core.sendMessages(SENDER, { type: 'send-messages', messages });
    if (receipts) for (const m of messages) this.audiences.set(m.id, new Set(this.members));
  }

  /** Whether `user` is a member of SIDE now. */
  isMember(user: string): boolean {
    return this.members.has(user);
  }

  /** The audience (besides alice, the sender) of each SIDE message that asked for receipts: the members when it was sent. */
  receiptAudiences(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.audiences;
  }

  /**
   * After the network healed and the outboxes drained: each device catches up
   * and pages back to the first message of every conversation it belongs to.
   * Then per conversation: stored once and in the server's order; a member
   * holds all of it; a former member holds only messages from before it last
   * left; someone who never belonged holds nothing.
   */
  async check(devices: readonly HistoryDevice[], tag: string): Promise<void> {
    for (const d of devices) {
      const tab = d.tabs[0]!;
      if (!this.syncs.has(tab)) this.attach(tab, d);
      const sync = this.syncs.get(tab)!;
      await sync.engine.catchUp();
      await sync.engine.idle();
      for (const convId of [GROUP, SIDE]) {
        if (convId === SIDE && !this.members.has(d.user)) continue;
        for (let i = 0; i < 1000; i++) if (!(await sync.history.loadOlder(convId, 50, undefined)).hasOlder) break;
      }
      for (const convId of [GROUP, SIDE]) {
        const server = await this.world.core.store.messagesAfter(convId, 0, 1_000_000);
        const local = (await tab.db.messages.where('[convId+pos]').between([convId, 0], [convId, Infinity]).toArray()).filter((m) => m.status === 'sent');
        const ids = local.map((m) => m.id);
        expect(new Set(ids).size, `${tag}: ${d.user} stores a ${convId} message twice`).toBe(ids.length);
        const seqs = local.map((m) => m.seq as number);
        expect(seqs, `${tag}: ${d.user}'s ${convId} in the server's order`).toEqual([...seqs].sort((a, b) => a - b));
        const bySeq = new Map(server.map((m) => [m.seq, m.id]));
        for (const m of local) expect(bySeq.get(m.seq as number), `${tag}: ${d.user} holds ${m.id} at its position`).toBe(m.id);
        if (convId === GROUP || this.members.has(d.user)) {
          expect(ids, `${tag}: ${d.user} holds all of ${convId}`).toEqual(server.map((m) => m.id));
        } else {
          const left = this.leftAt.get(d.user) ?? 0;
          const late = local.filter((m) => (m.seq as number) > left).map((m) => m.id);
          expect(late, `${tag}: ${d.user} holds ${convId} messages sent after leaving (at ${left})`).toEqual([]);
        }
      }
    }
  }

  /** Stops every engine (end of the schedule). */
  stop(): void {
    for (const s of this.syncs.values()) s.engine.stop();
    this.syncs.clear();
  }
}
