import { PostgresStore } from '../../src/server/store/PostgresStore';
import type { PostgresStoreOptions } from '../../src/server/store/PostgresStore';

let schemas = 0;

/** A fresh, migrated schema of its own in the test cluster at `url` (tests never share tables). */
export async function freshSchema(url: string): Promise<string> {
  const schema = `t${process.pid}_${++schemas}`;
  await PostgresStore.migrate({ connectionString: url, schema });
  return schema;
}

/** A PostgresStore on a fresh schema (or on `schema`, to share one between several "nodes"). */
export async function openPostgresStore(url: string, options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
  const schema = options.schema ?? (await freshSchema(url));
  return PostgresStore.open({ connectionString: url, poolSize: 4, ...options, schema });
}
