import type { MessageRow } from '../db/ReadSyncDb';
import type { SendItem, SendOutcome } from './enqueueMessage';

interface Waiting {
  call: SendItem[];
  resolve(rows: MessageRow[]): void;
  reject(err: unknown): void;
}

/**
 * Group commit of sends: a call that arrives while a commit runs waits for
 * the next one, which takes every call that arrived meanwhile in ONE
 * transaction. A lone call commits at once (no added latency); 10,000
 * concurrent calls take a few transactions instead of 10,000 strict commits.
 * Each call still resolves only after the commit that holds it, and is
 * stored whole or refused whole.
 */
export class SendQueue {
  private waiting: Waiting[] = [];
  private running = false;

  constructor(
    /** Stores the calls in one transaction (see `enqueueMessages`). */
    private readonly commit: (calls: SendItem[][]) => Promise<SendOutcome[]>,
    /** Something was stored: wake the flusher. */
    private readonly onCommitted: () => void,
  ) {}

  /** Stores one call's messages; resolves with their rows once committed. */
  send(call: SendItem[]): Promise<MessageRow[]> {
    return new Promise<MessageRow[]>((resolve, reject) => {
      this.waiting.push({ call, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        const group = this.waiting;
        this.waiting = [];
        let outcomes: SendOutcome[];
        try {
          outcomes = await this.commit(group.map((w) => w.call));
        } catch (err) {
          for (const w of group) w.reject(err);
          continue;
        }
        group.forEach((w, i) => {
          const o = outcomes[i] as SendOutcome;
          if ('error' in o) w.reject(o.error);
          else w.resolve(o.rows);
        });
        if (outcomes.some((o) => 'rows' in o)) this.onCommitted();
      }
    } finally {
      this.running = false;
    }
  }
}
