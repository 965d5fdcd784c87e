import type { ErrorPayload } from '../protocol';
import { fromErrorPayload } from '../protocol';
import type { TokenSource } from './TokenSource';

/** What the refresher needs from the client. */
export interface TokenRefreshTarget {
  setToken(token: string): Promise<void>;
  reportError(err: unknown): void;
}

const MAX_DELAY_MS = 60_000;
/** A refusal this long after the previous one starts a fresh backoff. */
const CALM_MS = 120_000;

/**
 * Returns the handler the worker calls when the server refuses the token
 * (`syncStatus$` then shows 'needs-auth'). Each refusal is reported on
 * `error$` (code `unauthenticated` or `wrong-user`), and, if the app gave
 * `getToken`, a new token is fetched and handed to the worker. Refusals that
 * follow each other back off (1 s, 2 s… up to a minute), so a `getToken` that
 * keeps returning a dead token cannot hammer the server; a `getToken` that
 * fails (the login service is down, the device offline) is asked again on the
 * same backoff until it answers. `stop` ends it.
 */
export function refreshTokens(client: TokenRefreshTarget, tokens: TokenSource, now: () => number = Date.now): { onRefused(error: ErrorPayload): void; stop(): void } {
  let refusals = 0;
  let lastRefusal = -Infinity;
  let busy = false;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const schedule = () => {
    const at = now();
    if (at - lastRefusal > CALM_MS) refusals = 0;
    lastRefusal = at;
    const delay = refusals === 0 ? 0 : Math.min(MAX_DELAY_MS, 1000 * 2 ** (refusals - 1));
    refusals++;
    timer = setTimeout(() => void refresh(), delay);
  };

  const refresh = async () => {
    let token: string;
    try {
      token = await tokens.next();
    } catch (err) {
      if (stopped) return;
      client.reportError(err);
      schedule(); // still busy: the next attempt is already planned
      return;
    }
    busy = false;
    if (stopped) return;
    // A refused new token comes back through onRefused; a worker that is gone reports itself.
    await client.setToken(token).catch((err: unknown) => client.reportError(err));
  };

  return {
    onRefused(error) {
      if (stopped) return;
      client.reportError(fromErrorPayload(error));
      if (!tokens.canRefresh || busy) return;
      busy = true;
      schedule();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
