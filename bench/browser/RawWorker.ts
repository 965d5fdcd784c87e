/** Page-side handle on rawCeilingWorker.ts: promise calls, plus the burst message. */
export class RawWorker {
  readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Called with the burst's updates when the worker posts them. */
  onBurst: ((updates: { id: number; value: unknown }[]) => void) | null = null;

  constructor() {
    this.worker = new Worker(new URL('./rawCeilingWorker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (ev: MessageEvent) => {
      const data = ev.data as { id?: number; result?: unknown; error?: string; burst?: { id: number; value: unknown }[] };
      if (data.burst) {
        this.onBurst?.(data.burst);
        return;
      }
      const p = this.pending.get(data.id ?? -1);
      if (!p) return;
      this.pending.delete(data.id ?? -1);
      if (data.error !== undefined) p.reject(new Error(data.error));
      else p.resolve(data.result);
    };
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
