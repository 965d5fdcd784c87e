/**
 * Message id → SQLite rowid, for rows this connection inserted or read, so
 * the counter update of an ack batch finds its rows without a lookup in the
 * id index (a sixth of an ack batch's time in memory). Two generations, like
 * MessageMetaCache: a hit is one lookup, at most `capacity` entries are held.
 *
 * `SqliteStore` keeps it exact: it clears it when another connection has
 * committed since its last transaction (rowids may have been renumbered, e.g.
 * by VACUUM) and when a transaction rolls back (its inserts are gone).
 */
export class RowidCache {
  private young = new Map<string, number>();
  private old = new Map<string, number>();

  constructor(private readonly capacity = 100_000) {}

  get(id: string): number | undefined {
    const hit = this.young.get(id);
    if (hit !== undefined) return hit;
    const aged = this.old.get(id);
    if (aged !== undefined) this.set(id, aged);
    return aged;
  }

  set(id: string, rowid: number): void {
    this.young.set(id, rowid);
    if (this.young.size >= Math.max(1, this.capacity >> 1)) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  clear(): void {
    this.young = new Map();
    this.old = new Map();
  }
}
