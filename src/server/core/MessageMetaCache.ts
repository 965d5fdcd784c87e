import type { MessageRecord, Store } from '../store/Store';

/** The parts of a message the ack rules need. They never change once the message is stored. */
export type MessageMeta = Pick<MessageRecord, 'id' | 'convId' | 'senderId' | 'seq' | 'needReadReceipt'>;

/**
 * A bounded cache of immutable message metadata, so an ack batch does not
 * read its (usually recent, repeatedly acknowledged) messages back from
 * storage. Counters are never cached: they are updated relatively in the
 * store. Safe with any number of writers (several server processes on one
 * PostgreSQL): these fields never change and messages are never deleted, and
 * an unknown id is not remembered, so a message stored later by another
 * process is found.
 *
 * Two generations instead of an exact LRU: a hit in the young generation is
 * one map lookup (an LRU refresh, a delete and a re-insert per ack, was a
 * visible share of an ack batch's time). Entries used since the last turnover
 * survive it; at most `capacity` entries are held.
 */
export class MessageMetaCache {
  private young = new Map<string, MessageMeta>();
  private old = new Map<string, MessageMeta>();

  constructor(private readonly capacity = 50_000) {}

  /** Metadata of each of `ids`, in the same order (undefined: no such message); misses are read from `store`. */
  async get(store: Store, ids: readonly string[]): Promise<(MessageMeta | undefined)[]> {
    const out = new Array<MessageMeta | undefined>(ids.length);
    let missing: number[] | undefined;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as string;
      let hit = this.young.get(id);
      if (!hit) {
        hit = this.old.get(id);
        if (hit) this.keep(id, hit);
        else (missing ??= []).push(i);
      }
      out[i] = hit;
    }
    if (missing) {
      const found = new Map<string, MessageMeta>();
      for (const m of await store.getMessages(missing.map((i) => ids[i] as string))) {
        const meta: MessageMeta = { id: m.id, convId: m.convId, senderId: m.senderId, seq: m.seq, needReadReceipt: m.needReadReceipt };
        found.set(m.id, meta);
        this.keep(m.id, meta);
      }
      for (const i of missing) out[i] = found.get(ids[i] as string);
    }
    return out;
  }

  private keep(id: string, meta: MessageMeta): void {
    this.young.set(id, meta);
    if (this.young.size >= Math.max(1, this.capacity >> 1)) {
      this.old = this.young;
      this.young = new Map();
    }
  }
}
