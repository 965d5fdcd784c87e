import type { KickChannel } from './FlusherContract';

/**
 * The channel over which a non-leader tells the leader "I enqueued
 * something": the given one (tests, or null for none), else a
 * BroadcastChannel `readsync-kick:<db name>` where the platform has one.
 */
export function openKickChannel(dbName: string, given: KickChannel | null | undefined, onKick: () => void): KickChannel | null {
  if (given !== undefined) {
    if (given) given.onmessage = onKick;
    return given;
  }
  const BC = (globalThis as { BroadcastChannel?: new (name: string) => KickChannel & { unref?: () => void } }).BroadcastChannel;
  if (!BC) return null;
  const channel = new BC(`readsync-kick:${dbName}`);
  channel.unref?.(); // Node: never keep a process alive for this
  channel.onmessage = onKick;
  return channel;
}
