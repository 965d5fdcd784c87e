import { MemoryOps } from './MemoryOps';
import { SynchronousStore } from './SynchronousStore';

/**
 * In-memory `Store` for tests and the in-process backend (`MemoryOps` holds
 * the data). Calls run at once; transactions are queued and roll back
 * through an undo log, like SQLite's.
 */
export class MemoryStore extends SynchronousStore {
  /** The data, synchronously (tests that inspect the store from a synchronous predicate). */
  readonly data: MemoryOps;

  constructor() {
    const data = new MemoryOps();
    super(data);
    this.data = data;
  }
}
