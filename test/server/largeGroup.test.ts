import { SqliteStore } from '../../src/server/store/SqliteStore';
import { runLargeGroupTests } from './largeGroupSuite';

runLargeGroupTests('SQLite', async () => new SqliteStore());
