#!/usr/bin/env node
/**
 * The `readsync-server` command as installed from the package: checks the
 * server's optional peer packages first (see ./index.ts for why it cannot be a
 * static import), then runs ../cli.ts.
 */
import { MissingServerPackagesError, requireServerPackages } from './requireServerPackages';

try {
  await requireServerPackages('readsync-server');
} catch (err) {
  // The missing-packages message starts with the command's name already.
  console.error(err instanceof MissingServerPackagesError ? err.message : `readsync-server: ${String(err)}`);
  process.exit(1);
}
await import('../cli');
