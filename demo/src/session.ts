/** The demo's "login": a user picked from the seeded ones and a dev token, kept in localStorage so an offline reload still starts. */
export interface Session {
  userId: string;
  token: string;
}

export const DEMO_USERS = ['alice', 'bob', 'carol', 'dave'] as const;
const KEY = 'readsync-demo-session';

export function loadSession(): Session | null {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Partial<Session> | null;
    return s && typeof s.userId === 'string' && typeof s.token === 'string' ? { userId: s.userId, token: s.token } : null;
  } catch {
    return null;
  }
}

export function saveSession(s: Session | null): void {
  if (s) localStorage.setItem(KEY, JSON.stringify(s));
  else localStorage.removeItem(KEY);
}

/** Asks the reference server (started with --dev) for a token. Real apps get theirs from their own login. */
export async function fetchDevToken(serverUrl: string, userId: string): Promise<Session> {
  const res = await fetch(new URL('/v1/dev/token', serverUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  if (!res.ok) throw new Error(`token request failed: HTTP ${res.status}`);
  const body = (await res.json()) as { token?: unknown };
  if (typeof body.token !== 'string') throw new Error('token request failed: no token in the reply');
  return { userId, token: body.token };
}
