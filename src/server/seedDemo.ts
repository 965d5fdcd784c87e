import type { SyncCore } from './core/SyncCore';

/** The demo's users. */
export const DEMO_USERS = ['alice', 'bob', 'carol', 'dave'] as const;

/**
 * Seeds the demo conversations if they are not there yet: a c2c alice–bob and
 * a 'work' group "Team" (id `team`) with all four demo users. Idempotent, so a
 * persistent database can be seeded on every start.
 */
export function seedDemo(core: SyncCore): { c2cId: string; groupId: string } {
  const c2c = core.admin.createC2C('alice', 'bob');
  if (!core.store.getConversation('team')) {
    core.admin.createGroup({ id: 'team', name: 'Team', groupType: 'work', members: [...DEMO_USERS] });
  }
  return { c2cId: c2c.id, groupId: 'team' };
}
