import { runTransportContractTests } from '../contracts/transportContract';
import { startServer } from './httpFixture';

runTransportContractTests('HttpTransport (real server, port 0)', async () => {
  const s = await startServer();
  return { transport: (u) => s.transport(u), admin: s.core.admin, close: s.close };
});
