import * as v from 'valibot';
import { ProtocolError, ValidationError } from './errors';

function describe(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 3)
    .map((i) => {
      const path = v.getDotPath(i);
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}

/** Parses `value` or throws `ValidationError` (code `invalid-argument`) naming the first bad fields. Use for API arguments and request bodies. */
export function parseArgument<S extends v.GenericSchema>(schema: S, value: unknown, what: string): v.InferOutput<S> {
  const r = v.safeParse(schema, value);
  if (r.success) return r.output;
  throw new ValidationError(`${what}: ${describe(r.issues)}`, { issues: r.issues.slice(0, 3).map((i) => ({ path: v.getDotPath(i), message: i.message })) });
}

/** Parses `value` or throws `ProtocolError` (code `bad-payload`). Use for anything a peer sent us. */
export function parsePayload<S extends v.GenericSchema>(schema: S, value: unknown, what: string): v.InferOutput<S> {
  const r = v.safeParse(schema, value);
  if (r.success) return r.output;
  throw new ProtocolError(`${what}: ${describe(r.issues)}`);
}
