import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { IdSchema, PROTOTYPE_NAME_IDS, PullMessagesRequestSchema, pullPositions, pullRequest } from '../../src/protocol';

/** What a server gets: the request as JSON text, parsed and validated. */
const overTheWire = (req: unknown) => v.parse(PullMessagesRequestSchema, JSON.parse(JSON.stringify(req)));

describe('pull positions on the wire', () => {
  it('every id named after an Object.prototype property is a valid id and keeps its position through JSON and the schema', () => {
    const positions = new Map<string, number>([['team', 4]]);
    let seq = 10;
    for (const id of PROTOTYPE_NAME_IDS) {
      expect(v.is(IdSchema, id), id).toBe(true);
      positions.set(id, seq++);
    }
    const req = pullRequest(positions, 200);
    // Ordinary ids stay in `since`, where a server that predates `sinceEntries` reads them.
    expect(Object.keys(req.since)).toEqual(['team']);
    expect([...pullPositions(overTheWire(req))].sort()).toEqual([...positions].sort());
    // In process (MemoryTransport validates the object itself, no JSON in between).
    expect([...pullPositions(v.parse(PullMessagesRequestSchema, req))].sort()).toEqual([...positions].sort());
    expect(overTheWire(req).limit).toBe(200);
  });

  it('reads a v1 request without sinceEntries by its own keys only: an absent id is absent, not an inherited property', () => {
    const got = pullPositions(overTheWire({ type: 'pull-messages', since: { team: 3, toString: 2 } }));
    expect([...got]).toEqual([
      ['team', 3],
      ['toString', 2],
    ]);
    const empty = pullPositions(overTheWire({ type: 'pull-messages', since: {} }));
    for (const id of PROTOTYPE_NAME_IDS) expect(empty.get(id), id).toBeUndefined();
  });

  it('refuses a malformed pair in sinceEntries', () => {
    for (const bad of [[['team']], [['team', -1]], [['bad id', 1]], [{ team: 1 }]]) {
      expect(v.is(PullMessagesRequestSchema, { type: 'pull-messages', since: {}, sinceEntries: bad }), JSON.stringify(bad)).toBe(false);
    }
  });
});
