import type { ServerEvent, SyncBackend } from '../../src/protocol';
import { parseServerEvent } from '../../src/protocol';
import type { EventStreamHandlers } from './Transport';

/**
 * One event stream of a `MemoryTransport`: a backend subscription that can be
 * dropped and reopened, resuming after the last receipts cursor its owner was
 * actually handed. Events are cloned, validated and delivered asynchronously,
 * in order; those still queued when the stream drops are lost, as on a socket.
 */
export class MemoryEventStream {
  private unsubscribe: (() => void) | null = null;
  /** Bumped on every connect/disconnect: queued deliveries of an older connection are discarded. */
  private generation = 0;
  private chain: Promise<void> = Promise.resolve();
  /** Events that failed validation (a test can assert nothing bad got through). */
  rejected = 0;

  constructor(
    private readonly backend: SyncBackend,
    private readonly userId: string,
    private cursor: number | null,
    private readonly handlers: EventStreamHandlers,
    private readonly hop: () => Promise<void>,
  ) {}

  connect(): void {
    if (this.unsubscribe) return;
    const gen = ++this.generation;
    this.handlers.onStatus('connecting');
    let opened = false;
    this.unsubscribe = this.backend.subscribe(this.userId, this.cursor, (event) => {
      const copy = structuredClone(event);
      this.chain = this.chain.then(async () => {
        await this.hop();
        if (gen !== this.generation) return;
        if (!opened) {
          opened = true;
          this.handlers.onStatus('open');
        }
        this.deliver(copy);
      });
    });
  }

  disconnect(): void {
    if (!this.unsubscribe) return;
    this.unsubscribe();
    this.unsubscribe = null;
    this.generation++;
    this.handlers.onStatus('closed');
  }

  private deliver(raw: unknown): void {
    let event: ServerEvent;
    try {
      event = parseServerEvent(raw);
    } catch {
      this.rejected++;
      return;
    }
    if (event.type === 'receipts') this.cursor = event.cursor;
    else if (event.type === 'hello' && this.cursor === null && event.cursor !== undefined) this.cursor = event.cursor;
    this.handlers.onEvent(event);
  }
}
