import type { FastifyInstance } from 'fastify';
import * as v from 'valibot';
import { GroupTypeSchema, IdSchema, ReadSyncError, parseArgument } from '../../protocol';
import type { Authenticator } from '../auth/TokenAuth';
import type { SyncCore } from '../core/SyncCore';
import { requireUser } from './installAuth';

const TokenRequest = v.object({ userId: IdSchema });
const C2CRequest = v.object({ peerId: IdSchema });
const GroupRequest = v.object({
  id: IdSchema,
  name: v.pipe(v.string(), v.maxLength(200)),
  groupType: GroupTypeSchema,
  members: v.pipe(v.array(IdSchema), v.maxLength(1000)),
});

/**
 * Dev mode only (config.devMode): token issuing for demo users and the
 * conversation management the demo needs. Never enable it in production:
 * anyone can obtain a token for any user id.
 */
export function registerDevRoutes(app: FastifyInstance, core: SyncCore, auth: Authenticator): void {
  app.post('/v1/dev/token', { config: { public: true } }, async (req) => {
    const { userId } = parseArgument(TokenRequest, req.body, 'request body');
    if (!auth.issue) throw new ReadSyncError('forbidden', 'this authenticator cannot issue tokens', { status: 403 });
    return { userId, token: auth.issue(userId) };
  });
  app.post('/v1/dev/c2c', async (req) => {
    const { peerId } = parseArgument(C2CRequest, req.body, 'request body');
    const conversation = await core.admin.createC2C(requireUser(req), peerId);
    return { conversation: (await core.admin.get(conversation.id, requireUser(req))) ?? conversation };
  });
  app.post('/v1/dev/groups', async (req) => {
    const body = parseArgument(GroupRequest, req.body, 'request body');
    await core.admin.createGroup({ ...body, members: [requireUser(req), ...body.members] });
    return { conversation: await core.admin.get(body.id, requireUser(req)) };
  });
  app.post('/v1/dev/groups/:id/join', async (req) => {
    const id = parseArgument(IdSchema, (req.params as { id?: unknown }).id, 'group id');
    return { conversation: await core.admin.join(id, requireUser(req)) };
  });
  app.post('/v1/dev/groups/:id/leave', async (req) => {
    const id = parseArgument(IdSchema, (req.params as { id?: unknown }).id, 'group id');
    return { conversation: await core.admin.leave(id, requireUser(req)) };
  });
}
