/**
 * What the bench page exposes of the peers workload. The peers' libraries
 * (TanStack DB, RxDB, a page-side Dexie) load only when it runs, so the
 * other workloads' pages parse none of them.
 */
import type { PeerRunResult } from './peerRun';
import type { WorkerFloor } from './workerFloor';

export type { PeerRunResult, WorkerFloor };

export async function peerRun(peerKey: string, n: number, tag: string, limitMs: number): Promise<PeerRunResult> {
  const m = await import('./peerRun');
  return m.peerRun(peerKey, n, tag, limitMs);
}

export async function peerWorkerFloor(n: number): Promise<WorkerFloor> {
  const m = await import('./workerFloor');
  return m.workerFloor(n);
}
