/**
 * The bench's worker entry (../libWorker.ts, unchanged) with the commit
 * probe installed, so the peers workload sees when readsync's IndexedDB
 * writes commit.
 */
import { installCommitProbe } from './idbCommitProbe';
import '../libWorker';

installCommitProbe(true);
