/** One open event-stream connection, as the registry keeps it. Per-socket state goes here. */
export interface UserSocket<S> {
  readonly socket: S;
  readonly userId: string;
  /** Answered the last heartbeat ping (or has not been pinged yet). */
  alive: boolean;
}

/**
 * The open event-stream sockets, grouped by user, oldest first. Caps each
 * user's count: `add` past the cap hands back the user's oldest entries for
 * the caller to close (they leave the registry at once, so a new socket never
 * waits for an old one's close handshake).
 */
export class UserSockets<S> {
  /** Map and Set keep insertion order: each user's set lists their sockets oldest first. */
  private readonly byUser = new Map<string, Set<UserSocket<S>>>();

  constructor(private readonly maxPerUser: number) {
    if (!(maxPerUser >= 1)) throw new RangeError(`maxSocketsPerUser must be at least 1, got ${maxPerUser}`);
  }

  /** Registers a socket; returns the entries evicted to stay within the cap (oldest first). */
  add(userId: string, socket: S): { entry: UserSocket<S>; evicted: UserSocket<S>[] } {
    let set = this.byUser.get(userId);
    if (!set) this.byUser.set(userId, (set = new Set()));
    const evicted: UserSocket<S>[] = [];
    for (const old of set) {
      if (set.size < this.maxPerUser) break;
      set.delete(old);
      evicted.push(old);
    }
    const entry: UserSocket<S> = { socket, userId, alive: true };
    set.add(entry);
    return { entry, evicted };
  }

  /** Forgets an entry (closed, or evicted). Returns false if it was not registered. */
  delete(entry: UserSocket<S>): boolean {
    const set = this.byUser.get(entry.userId);
    if (!set?.delete(entry)) return false;
    if (set.size === 0) this.byUser.delete(entry.userId);
    return true;
  }

  /** One user's entries, oldest first. */
  of(userId: string): readonly UserSocket<S>[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  /** Every entry (a snapshot: closing sockets while iterating is safe). */
  all(): UserSocket<S>[] {
    const out: UserSocket<S>[] = [];
    for (const set of this.byUser.values()) out.push(...set);
    return out;
  }
}
