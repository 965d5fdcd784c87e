/**
 * What the bench page exposes of the peers workload. The peers' libraries
 * (TanStack DB, RxDB, a page-side Dexie) load only when it runs, so the
 * other workloads' pages parse none of them.
 */
import type { PeerRunResult } from './peerRun';

export type { PeerRunResult };

export async function peerRun(peerKey: string, n: number, tag: string, limitMs: number): Promise<PeerRunResult> {
  const m = await import('./peerRun');
  return m.peerRun(peerKey, n, tag, limitMs);
}
