import type { SyncCore } from './core/SyncCore';

/** The demo's users. */
export const DEMO_USERS = ['alice', 'bob', 'carol', 'dave'] as const;

/**
 * Seeds the demo conversations if they are not there yet: a c2c alice–bob and
 * a 'work' group "Team" (id `team`) with all four demo users. Idempotent, so a
 * persistent database can be seeded on every start.
 */
export async function seedDemo(core: SyncCore): Promise<{ c2cId: string; groupId: string }> {
  const c2c = await core.admin.createC2C('alice', 'bob');
  if (!(await core.store.getConversation('team'))) {
    await core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: [...DEMO_USERS] }).catch(async (err: unknown) => {
      if (!(await core.store.getConversation('team'))) throw err; // another node seeded it meanwhile
    });
  }
  return { c2cId: c2c.id, groupId: 'team' };
}
