/**
 * Sees every readwrite IndexedDB transaction of this thread (and of the
 * workers that install it too) commit, so the peers workload can tell
 * whether a subscriber fired before or after the write's commit: it wraps
 * `IDBDatabase.prototype.transaction` and notes, per database name, when
 * each readwrite transaction began and completed (epoch ms, comparable
 * across threads). A worker sends its notes over a BroadcastChannel; the
 * page merges them. Installed only by the peers workload (the other
 * workloads never load it in the same page).
 */
export interface CommitNote {
  db: string;
  kind: 'begin' | 'complete' | 'abort';
  /** performance.timeOrigin + performance.now() */
  at: number;
}

const CHANNEL = 'readsync-bench-idb-commits';
const notes: CommitNote[] = [];
let installed = false;

const epochNow = (): number => performance.timeOrigin + performance.now();

/** Wraps IDBDatabase.prototype.transaction (once per thread). `post`: send the notes to the page (in a worker). */
export function installCommitProbe(post = false): void {
  if (installed) return;
  installed = true;
  const channel = new BroadcastChannel(CHANNEL);
  const note = (n: CommitNote) => (post ? channel.postMessage(n) : notes.push(n));
  if (!post) channel.onmessage = (e: MessageEvent<CommitNote>) => notes.push(e.data);
  const original = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function transaction(this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>): IDBTransaction {
    const tx = original.apply(this, args);
    if (tx.mode !== 'readonly') {
      const db = this.name;
      note({ db, kind: 'begin', at: epochNow() });
      tx.addEventListener('complete', () => note({ db, kind: 'complete', at: epochNow() }));
      tx.addEventListener('abort', () => note({ db, kind: 'abort', at: epochNow() }));
    }
    return tx;
  };
}

/** Readwrite transactions begun and not yet completed or aborted, on databases whose name contains `match`. */
export function pendingWrites(match: string): number {
  let open = 0;
  for (const n of notes) if (n.db.includes(match)) open += n.kind === 'begin' ? 1 : -1;
  return open;
}

/** When the first readwrite transaction on a matching database completed after `since` (epoch ms), if one did. */
export function firstCommitAfter(match: string, since: number): number | undefined {
  for (const n of notes) if (n.kind === 'complete' && n.at >= since && n.db.includes(match)) return n.at;
  return undefined;
}

/** Waits until no readwrite transaction on a matching database has been open for `quietMs` (at most `limitMs`). */
export async function writesQuiet(match: string, quietMs = 100, limitMs = 5_000): Promise<boolean> {
  const end = performance.now() + limitMs;
  let quietSince = performance.now();
  while (performance.now() < end) {
    if (pendingWrites(match) > 0) quietSince = performance.now();
    else if (performance.now() - quietSince >= quietMs) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Forgets the notes (between runs). */
export function clearCommitNotes(): void {
  notes.length = 0;
}

export { epochNow };
