import { afterEach, describe, expect, it, vi } from 'vitest';
import { refreshTokens } from '../../src/client/refreshTokens';
import { TokenSource } from '../../src/client/TokenSource';
import type { ErrorPayload } from '../../src/protocol';

const refused: ErrorPayload = { name: 'AuthError', code: 'unauthenticated', message: 'invalid or expired token', status: 401 };
afterEach(() => vi.useRealTimers());

function setup(getToken: () => Promise<string>) {
  const setToken = vi.fn(async (_t: string) => undefined);
  const reported: string[] = [];
  const r = refreshTokens({ setToken, reportError: (e) => reported.push((e as Error).message) }, new TokenSource('first', getToken));
  return { r, setToken, reported };
}

describe('refreshTokens', () => {
  it('asks a failing getToken again on a backoff (1 s, 2 s…) until it answers, then hands the token over once', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const { r, setToken, reported } = setup(async () => {
      if (++calls <= 2) throw new Error('login service down');
      return 'fresh';
    });
    r.onRefused(refused);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toBe(3);
    expect(setToken.mock.calls).toEqual([['fresh']]);
    expect(reported).toEqual(['invalid or expired token', 'getToken failed: login service down', 'getToken failed: login service down']);
    r.stop();
  });

  it('one refresh at a time: refusals while it runs do not ask again', async () => {
    vi.useFakeTimers();
    const getToken = vi.fn(async () => 'fresh');
    const { r, setToken } = setup(getToken);
    r.onRefused(refused);
    r.onRefused(refused);
    await vi.advanceTimersByTimeAsync(0);
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(setToken).toHaveBeenCalledTimes(1);
    r.stop();
  });

  it('stops asking after stop()', async () => {
    vi.useFakeTimers();
    const getToken = vi.fn(async (): Promise<string> => {
      throw new Error('down');
    });
    const { r } = setup(getToken);
    r.onRefused(refused);
    await vi.advanceTimersByTimeAsync(0);
    r.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(getToken).toHaveBeenCalledTimes(1);
  });
});
