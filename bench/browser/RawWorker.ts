import { unpackUpdates, type PackedReadStates, type ReadState } from '../../src/bridge';

/** Page-side handle on rawCeilingWorker.ts: promise calls, plus the read-state posts. */
export class RawWorker {
  readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Called with each read state the worker posts (subscription id, value), one post's rows in one task. */
  onState: ((id: number, value: ReadState) => void) | null = null;
  /** Called once per post, before its rows. */
  onPost: (() => void) | null = null;

  constructor() {
    this.worker = new Worker(new URL('./rawCeilingWorker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (ev: MessageEvent) => {
      const data = ev.data as { id?: number; result?: unknown; error?: string; columns?: PackedReadStates };
      if (data.columns) {
        this.onPost?.();
        this.dispatch(data.columns);
        return;
      }
      const p = this.pending.get(data.id ?? -1);
      if (!p) return;
      this.pending.delete(data.id ?? -1);
      if (data.error !== undefined) p.reject(new Error(data.error));
      else p.resolve(data.result);
    };
  }

  /** What the library's client does with a posted batch: one ReadState object per row, handed to its subscriber. */
  private dispatch(c: PackedReadStates): void {
    const on = this.onState;
    if (!on) return;
    for (const u of unpackUpdates({ packed: c })) on(u.id, u.value as ReadState);
  }

  call<T>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, args });
    });
  }

  terminate(): void {
    this.worker.terminate();
  }
}
