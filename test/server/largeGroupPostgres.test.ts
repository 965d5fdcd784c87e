import { afterAll, beforeAll } from 'vitest';
import { startPostgres } from '../support/postgres';
import type { TestPostgres } from '../support/postgres';
import { openPostgresStore } from '../support/postgresStores';
import { runLargeGroupTests } from './largeGroupSuite';

let cluster: TestPostgres;
beforeAll(async () => {
  cluster = await startPostgres();
});
afterAll(() => cluster?.stop());

runLargeGroupTests('PostgreSQL', () => openPostgresStore(cluster.url));
