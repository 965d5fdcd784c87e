/** Names and setup shared by the load generator and the server process it starts. */

/** Signs the tokens of the load benchmarks (loopback only). */
export const BENCH_SECRET = 'readsync-load-bench-secret';

export const userId = (u: number): string => `u${String(u).padStart(5, '0')}`;
/** Message `i` sent by user `u` (16 chars, like the client's ids). */
export const messageId = (u: number, i: number): string => `m${String(u).padStart(6, '0')}x${String(i).padStart(8, '0')}`;
export const groupOf = (u: number, groupSize: number): string => `g${Math.floor(u / groupSize)}`;

/** What the server process seeds and how it is configured. */
export interface LoadServerSetup {
  users: number;
  groupSize: number;
  messagesPerUser: number;
  synchronous?: 'full' | 'normal';
  /** Extra `SyncServerConfig` fields (JSON). */
  config?: Record<string, unknown>;
  /** A node on PostgreSQL instead of SQLite; `seed`: this node seeds the (migrated, empty) schema. */
  pg?: { url: string; schema: string; seed: boolean };
}
