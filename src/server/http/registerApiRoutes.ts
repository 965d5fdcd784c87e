import type { FastifyInstance } from 'fastify';
import type * as v from 'valibot';
import {
  AckBatchRequestSchema,
  HistoryQueryRequestSchema,
  MemberPageRequestSchema,
  PullMessagesRequestSchema,
  ReceiptQueryRequestSchema,
  SendMessagesRequestSchema,
  SettingsRequestSchema,
  parseArgument,
} from '../../protocol';
import type { SyncCore } from '../core/SyncCore';
import { requireUser } from './installAuth';
import { TurnScheduler } from './TurnScheduler';

/**
 * The request/response routes of protocol v1. Each body is validated with
 * the shared schemas before the core sees it; the user is the token's, never
 * a field of the body (a `senderId` in a request is not part of the schema
 * and is ignored). Validation and the core's (synchronous) store work run
 * through `turns`, a bounded slice per event-loop turn, so a burst of
 * requests cannot keep the loop from accepting and reading new connections.
 */
export function registerApiRoutes(app: FastifyInstance, core: SyncCore, turns: TurnScheduler = TurnScheduler.shared): void {
  app.get('/v1/config', async (req) => {
    requireUser(req);
    return core.getConfig();
  });

  const post = <S extends v.GenericSchema>(path: string, schema: S, run: (userId: string, body: v.InferOutput<S>) => Promise<unknown>) => {
    app.post(path, async (req) => turns.run(() => run(requireUser(req), parseArgument(schema, req.body, 'request body'))));
  };
  post('/v1/messages', SendMessagesRequestSchema, (u, b) => core.sendMessages(u, b));
  post('/v1/pull', PullMessagesRequestSchema, (u, b) => core.pullMessages(u, b));
  post('/v1/acks', AckBatchRequestSchema, (u, b) => core.ackBatch(u, b));
  post('/v1/receipts', ReceiptQueryRequestSchema, (u, b) => core.queryReceipts(u, b));
  post('/v1/members', MemberPageRequestSchema, (u, b) => core.memberPage(u, b));
  post('/v1/history', HistoryQueryRequestSchema, (u, b) => core.history(u, b));
  post('/v1/settings', SettingsRequestSchema, (u, b) => core.settings(u, b));
}
