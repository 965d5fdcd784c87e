import type { ObservabilitySet } from 'dexie';

/** What changed in one table: some primary keys, or possibly everything. */
export interface TableChanges {
  all: boolean;
  keys: Set<string>;
}

interface Node {
  from?: unknown;
  to?: unknown;
  l?: Node;
  r?: Node;
}

function walk(node: Node | undefined, out: TableChanges): void {
  // Iterative: a 10,000-key set is a deep-ish tree, and it may be a plain
  // object (structured-cloned from another tab), so no RangeSet methods.
  const stack: Node[] = node ? [node] : [];
  while (stack.length > 0) {
    const n = stack.pop() as Node;
    if (!('from' in n)) continue;
    if (typeof n.from === 'string' && n.from === n.to) out.keys.add(n.from);
    else out.all = true;
    if (n.l) stack.push(n.l);
    if (n.r) stack.push(n.r);
  }
}

/**
 * Reads Dexie's `storagemutated` parts (`idb://<db>/<table>/<index>` → key
 * ranges) into changed primary keys per table of one database. Exact keys
 * come for writes under 50 rows per call (see `bulkPutPrecise`); anything
 * else (ranges, clear, `all`) marks the table as wholly changed.
 */
export function changedKeys(parts: ObservabilitySet, dbName: string, tables: readonly string[]): Map<string, TableChanges> {
  const out = new Map<string, TableChanges>();
  const everything = 'all' in parts;
  for (const table of tables) {
    const pk = parts[`idb://${dbName}/${table}/`] as Node | undefined;
    if (!everything && pk === undefined) continue;
    const changes: TableChanges = { all: everything, keys: new Set() };
    walk(pk, changes);
    out.set(table, changes);
  }
  return out;
}
