/**
 * Several reference-server "nodes" over one shared store, for seeded
 * schedule tests under fake timers: each node is its own `SyncCore` (its own
 * caches and event hub), every request goes to a node the seeded random
 * function picks, and a node can crash right after applying a request (its
 * reply lost, the node replaced by a fresh one with cold caches). The store
 * is a `MemoryStore` with a change feed that tells every node what each
 * commit moved, as PostgresStore's LISTEN/NOTIFY does (the real database is
 * exercised by test/server/multiNode.test.ts and nodeProcesses.test.ts).
 */
import type {
  AckBatchRequest,
  AckBatchResponse,
  MemberPageRequest,
  MemberPageResponse,
  SettingsRequest,
  SettingsResponse,
  HistoryQueryRequest,
  HistoryQueryResponse,
  PullMessagesRequest,
  PullMessagesResponse,
  ReceiptQueryRequest,
  ReceiptQueryResponse,
  SendMessagesRequest,
  SendMessagesResponse,
  ServerConfig,
  ServerEvent,
  SyncBackend,
} from '../../src/protocol';
import { TransientError } from '../../src/protocol';
import { SyncCore } from '../../src/server/core/SyncCore';
import type { SyncCoreOptions } from '../../src/server/core/SyncCore';
import { MemoryStore } from '../../src/server/store/MemoryStore';
import type { ChangeFeed, ChangeListener, Store, StoreChange } from '../../src/server/store/Store';

/** A MemoryStore whose commits are told to listeners as positions, like PostgresStore's NOTIFY. */
export class FeedMemoryStore extends MemoryStore {
  private readonly listeners = new Set<ChangeListener>();
  readonly changes: ChangeFeed = {
    listen: async (listener) => {
      this.listeners.add(listener);
      return async () => void this.listeners.delete(listener);
    },
    receiptStatesAfter: async (after, limit) => this.data.receiptStatesAfter(after, limit),
  };

  override async transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    const notes: StoreChange[] = [];
    let ackSeq = 0;
    // A user's own reads, as PostgresStore notes them for `my-reads`: from the first ack sequence
    // number of the reads (MAX: positions only), and whether a read position moved.
    const users = new Map<string, { first: number; positions: boolean }>();
    const noteUser = (userId: string, first: number, positions: boolean) => {
      const u = users.get(userId);
      if (!u) users.set(userId, { first, positions });
      else {
        u.first = Math.min(u.first, first);
        u.positions ||= positions;
      }
    };
    const out = await super.transaction((tx) => {
      const noting: Store = Object.assign(Object.create(tx) as Store, {
        transaction: <U>(f: (t: Store) => Promise<U>) => f(noting),
        insertMessage: async (rec: Parameters<Store['insertMessage']>[0]) => {
          await tx.insertMessage(rec);
          notes.push({ kind: 'messages', convId: rec.convId, fromSeq: rec.seq - 1, toSeq: rec.seq });
        },
        insertConversation: async (rec: Parameters<Store['insertConversation']>[0]) => {
          await tx.insertConversation(rec);
          notes.push({ kind: 'conversation', convId: rec.id, seq: rec.seq });
        },
        openSpans: async (convId: string, users: readonly string[], joinedSeq: number) => {
          await tx.openSpans(convId, users, joinedSeq);
          notes.push({ kind: 'conversation', convId, seq: joinedSeq });
        },
        closeSpan: async (convId: string, userId: string, leftSeq: number) => {
          await tx.closeSpan(convId, userId, leftSeq);
          notes.push({ kind: 'conversation', convId, seq: leftSeq });
        },
        insertReads: async (recs: Parameters<Store['insertReads']>[0]) => {
          const inserted = await tx.insertReads(recs);
          for (const r of recs) noteUser(r.userId, r.ackSeq, false);
          return inserted;
        },
        putReadPosition: async (rec: Parameters<Store['putReadPosition']>[0]) => {
          await tx.putReadPosition(rec);
          noteUser(rec.userId, Number.MAX_SAFE_INTEGER, true);
        },
        putReceiptMode: async (userId: string, mode: 'public' | 'private') => {
          await tx.putReceiptMode(userId, mode);
          notes.push({ kind: 'settings', userId });
        },
        reserveAckSeqs: async (count: number) => {
          const first = await tx.reserveAckSeqs(count);
          ackSeq = first + count - 1;
          return first;
        },
      });
      return fn(noting);
    });
    if (ackSeq > 0) notes.push({ kind: 'receipts', position: ackSeq });
    for (const [userId, u] of users) notes.push({ kind: 'reads', userId, afterAckSeq: u.first === Number.MAX_SAFE_INTEGER ? u.first : u.first - 1, positions: u.positions });
    for (const l of this.listeners) for (const c of notes) l.change(c);
    return out;
  }
}

/** Requests after which a node can be made to crash. */
export type CrashKind = 'sendMessages' | 'ackBatch' | 'settings';

/** A `SyncBackend` spread over `n` nodes on one `FeedMemoryStore`. */
export class ClusterBackend implements SyncBackend {
  readonly nodes: SyncCore[];
  /** Nodes crashed (and replaced) so far. */
  crashes = 0;
  private crashPending: CrashKind | null = null;

  constructor(
    readonly store: FeedMemoryStore,
    n: number,
    private readonly random: () => number,
    private readonly options: SyncCoreOptions = {},
  ) {
    this.nodes = Array.from({ length: n }, () => this.newNode());
  }

  private newNode(): SyncCore {
    const core = new SyncCore(this.store, this.options);
    void core.start();
    return core;
  }

  private pick(): number {
    return Math.floor(this.random() * this.nodes.length);
  }

  /** The next request of `kind` is applied by its node, which then crashes before answering. */
  crashAfterNext(kind: CrashKind): void {
    this.crashPending = kind;
  }

  private async call<T>(kind: string, run: (node: SyncCore) => Promise<T>): Promise<T> {
    const i = this.pick();
    const out = await run(this.nodes[i]!);
    if (this.crashPending === kind) {
      this.crashPending = null;
      this.crashes++;
      const dead = this.nodes[i]!;
      this.nodes[i] = this.newNode();
      await dead.close();
      throw new TransientError('network', `node ${i} crashed after applying the request`);
    }
    return out;
  }

  getConfig(): ServerConfig {
    return this.nodes[0]!.getConfig();
  }
  sendMessages(userId: string, req: SendMessagesRequest): Promise<SendMessagesResponse> {
    return this.call('sendMessages', (n) => n.sendMessages(userId, req));
  }
  pullMessages(userId: string, req: PullMessagesRequest): Promise<PullMessagesResponse> {
    return this.call('pullMessages', (n) => n.pullMessages(userId, req));
  }
  history(userId: string, req: HistoryQueryRequest): Promise<HistoryQueryResponse> {
    return this.call('history', (n) => n.history(userId, req));
  }
  ackBatch(userId: string, req: AckBatchRequest): Promise<AckBatchResponse> {
    return this.call('ackBatch', (n) => n.ackBatch(userId, req));
  }
  queryReceipts(userId: string, req: ReceiptQueryRequest): Promise<ReceiptQueryResponse> {
    return this.call('queryReceipts', (n) => n.queryReceipts(userId, req));
  }
  memberPage(userId: string, req: MemberPageRequest): Promise<MemberPageResponse> {
    return this.call('memberPage', (n) => n.memberPage(userId, req));
  }
  settings(userId: string, req: SettingsRequest): Promise<SettingsResponse> {
    return this.call('settings', (n) => n.settings(userId, req));
  }
  subscribe(userId: string, since: number | null, listener: (event: ServerEvent) => void): () => void {
    return this.nodes[this.pick()]!.subscribe(userId, since, listener);
  }
}
