/**
 * What the trickle and the first values cost at least when the data lives
 * in a worker (information, no bar): the page posts `n` message ids to a
 * bare worker that answers one value per id at once, and calls one callback
 * per value (first values); then 100 single values, each awaited, page →
 * worker → page (trickle). No IndexedDB, no validation, no bookkeeping:
 * only the two thread hops readsync makes and an in-page peer does not.
 */
export interface WorkerFloor {
  firstMs: number;
  trickleMs: number;
  trickleP50: number;
}

export async function workerFloor(n: number): Promise<WorkerFloor> {
  const worker = new Worker(new URL('./workerFloorWorker.ts', import.meta.url), { type: 'module' });
  const ask = (m: unknown) =>
    new Promise<unknown>((resolve) => {
      worker.onmessage = (e: MessageEvent) => resolve(e.data);
      worker.postMessage(m);
    });
  try {
    await ask({ one: 'warm-up', value: 0 });
    const ids = Array.from({ length: n }, (_, i) => `floor${String(i).padStart(11, '0')}`);
    const seen = new Int32Array(n).fill(-1);
    const t0 = performance.now();
    const { values } = (await ask({ ids })) as { values: number[] };
    values.forEach((v, i) => (seen[i] = v));
    const firstMs = performance.now() - t0;
    const times: number[] = [];
    for (let k = 0; k < 100; k++) {
      const i = Math.floor((k * n) / 100);
      const t = performance.now();
      const r = (await ask({ one: ids[i], value: 2 })) as { value: number };
      seen[i] = r.value;
      times.push(performance.now() - t);
    }
    const sorted = [...times].sort((a, b) => a - b);
    return { firstMs, trickleMs: times.reduce((a, b) => a + b, 0), trickleP50: sorted[50] as number };
  } finally {
    worker.terminate();
  }
}
