/**
 * The floor of any worker-backed design (see workerFloor.ts): answers each
 * message at once, with no storage and no bookkeeping. `ids`: one value per
 * id (a read count); `one`: the value of a single id.
 */
const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };
scope.onmessage = (e: MessageEvent) => {
  const m = e.data as { ids: string[] } | { one: string; value: number };
  if ('ids' in m) scope.postMessage({ values: m.ids.map(() => 0) });
  else scope.postMessage({ one: m.one, value: m.value });
};
