import type { MessageRecord, Store } from '../store/Store';

/** The parts of a message the ack rules need. They never change once the message is stored. */
export type MessageMeta = Pick<MessageRecord, 'id' | 'convId' | 'senderId' | 'seq' | 'needReadReceipt'>;

/**
 * An LRU cache of immutable message metadata, so an ack batch does not read
 * its (usually recent, repeatedly acknowledged) messages back from storage.
 * Counters are never cached: they are updated relatively in the store.
 * Assumes this process is the database's only writer, as the reference
 * server does.
 */
export class MessageMetaCache {
  private readonly entries = new Map<string, MessageMeta>();

  constructor(
    private readonly store: Store,
    private readonly capacity = 50_000,
  ) {}

  /** Metadata of the stored messages among `ids`. */
  get(ids: readonly string[]): Map<string, MessageMeta> {
    const out = new Map<string, MessageMeta>();
    const missing: string[] = [];
    for (const id of ids) {
      const hit = this.entries.get(id);
      if (hit) {
        this.entries.delete(id); // refresh its LRU position
        this.entries.set(id, hit);
        out.set(id, hit);
      } else missing.push(id);
    }
    if (missing.length > 0) {
      for (const m of this.store.getMessages(missing)) {
        const meta: MessageMeta = { id: m.id, convId: m.convId, senderId: m.senderId, seq: m.seq, needReadReceipt: m.needReadReceipt };
        out.set(m.id, meta);
        this.entries.set(m.id, meta);
      }
      while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    }
    return out;
  }
}
