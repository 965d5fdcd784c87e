import { createHash } from 'node:crypto';
import type { Conversation, GroupType } from '../../protocol';
import { GroupTypeSchema, IdSchema, ReceiptRuleError, ValidationError, parseArgument } from '../../protocol';
import type { ConversationRecord, Store } from '../store/Store';
import type { EventHub } from './EventHub';

/** Input of `GroupAdmin.createGroup`. */
export interface CreateGroupInput {
  id: string;
  name: string;
  groupType: GroupType;
  members: readonly string[];
}

/** The id of the c2c conversation of two users: the same whichever side asks. */
export function c2cId(a: string, b: string): string {
  const [x, y] = a < b ? [a, b] : [b, a];
  const plain = `c2c:${x}:${y}`;
  return plain.length <= 64 ? plain : `c2c:${createHash('sha256').update(`${x}\u0000${y}`).digest('base64url').slice(0, 40)}`;
}

/**
 * Conversation management: enough for the demo, the tests and an embedding
 * app. Joining and leaving take a position in the conversation's sequence, so
 * each message's audience (members at send time) stays derivable.
 */
export class GroupAdmin {
  constructor(
    private readonly store: Store,
    private readonly hub: EventHub,
    private readonly view: (rec: ConversationRecord, viewerId: string) => Conversation,
    private readonly now: () => number,
  ) {}

  /** The c2c conversation of two users, created on first use. */
  async createC2C(a: string, b: string): Promise<Conversation> {
    parseArgument(IdSchema, a, 'userId');
    parseArgument(IdSchema, b, 'userId');
    if (a === b) throw new ValidationError('a c2c conversation needs two different users');
    const id = c2cId(a, b);
    const existing = await this.store.getConversation(id);
    if (existing) return this.view(existing, a);
    const users: [string, string] = a < b ? [a, b] : [b, a];
    const rec: ConversationRecord = { id, type: 'c2c', groupType: null, name: '', c2cUsers: users, seq: 0, memberCount: 2, createdAt: this.now() };
    try {
      await this.store.transaction(async (tx) => {
        await tx.insertConversation(rec);
        await tx.openSpans(id, users, 0);
      });
    } catch (err) {
      // Created meanwhile by another request (another server process, on a shared store): use it.
      const created = await this.store.getConversation(id);
      if (created) return this.view(created, a);
      throw err;
    }
    this.hub.conversation(id, 0, [], (u) => this.view(rec, u));
    return this.view(rec, a);
  }

  /** Creates a group with its initial members (members from position 0). */
  async createGroup(input: CreateGroupInput): Promise<Conversation> {
    parseArgument(IdSchema, input.id, 'group id');
    parseArgument(GroupTypeSchema, input.groupType, 'groupType');
    if (typeof input.name !== 'string' || input.name.length > 200) throw new ValidationError('name: a string of at most 200 chars');
    const members = [...new Set(input.members)];
    for (const m of members) parseArgument(IdSchema, m, 'member');
    const conflict = () => new ReceiptRuleError('conflict', `conversation ${input.id} exists`, { status: 409 });
    if (await this.store.getConversation(input.id)) throw conflict();
    const rec: ConversationRecord = {
      id: input.id,
      type: 'group',
      groupType: input.groupType,
      name: input.name,
      c2cUsers: null,
      seq: 0,
      memberCount: members.length,
      createdAt: this.now(),
    };
    try {
      await this.store.transaction(async (tx) => {
        await tx.insertConversation(rec);
        await tx.openSpans(rec.id, members, 0);
      });
    } catch (err) {
      if (await this.store.getConversation(input.id)) throw conflict(); // created meanwhile elsewhere
      throw err;
    }
    this.hub.conversation(rec.id, 0, [], (u) => this.view(rec, u));
    return this.view(rec, members[0] ?? '');
  }

  /** Adds a member from the next position on: earlier messages are not in their audience. No-op if already a member. */
  async join(convId: string, userId: string): Promise<Conversation> {
    parseArgument(IdSchema, userId, 'userId');
    // The conversation is read inside the transaction (and locked there on a shared store), so the
    // position taken is the next one even when others join, leave or send at the same time.
    const { next, changed } = await this.store.transaction(async (tx) => {
      const rec = await this.group(tx, convId);
      if (await tx.currentSpan(convId, userId)) return { next: rec, changed: false };
      const next = { ...rec, seq: rec.seq + 1, memberCount: rec.memberCount + 1 };
      await tx.openSpans(convId, [userId], next.seq);
      await tx.updateConversation(convId, { seq: next.seq, memberCount: next.memberCount });
      return { next, changed: true };
    });
    if (changed) this.hub.conversation(convId, next.seq, [], (u) => this.view(next, u));
    return this.view(next, userId);
  }

  /** Removes a member from the next position on. Messages sent before stay in their audience (their reads, queued ones too, still count). */
  async leave(convId: string, userId: string): Promise<Conversation> {
    const next = await this.store.transaction(async (tx) => {
      const rec = await this.group(tx, convId);
      if (!(await tx.currentSpan(convId, userId))) throw new ReceiptRuleError('not-member', `${userId} is not a member of ${convId}`, { status: 403 });
      const next = { ...rec, seq: rec.seq + 1, memberCount: rec.memberCount - 1 };
      await tx.closeSpan(convId, userId, next.seq);
      await tx.updateConversation(convId, { seq: next.seq, memberCount: next.memberCount });
      return next;
    });
    this.hub.conversation(convId, next.seq, [userId], (u) => this.view(next, u));
    return this.view(next, userId);
  }

  /** The conversation as `viewerId` sees it, if they are a member. */
  async get(convId: string, viewerId: string): Promise<Conversation | undefined> {
    const rec = await this.store.getConversation(convId);
    if (!rec || !(await this.store.currentSpan(convId, viewerId))) return undefined;
    return this.view(rec, viewerId);
  }

  private async group(store: Store, convId: string): Promise<ConversationRecord> {
    const rec = await store.getConversation(convId);
    if (!rec) throw new ReceiptRuleError('not-found', `conversation ${convId} not found`, { status: 404 });
    if (rec.type !== 'group') throw new ValidationError('join and leave apply to groups only');
    return rec;
  }
}
