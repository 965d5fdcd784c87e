import { AuthError, ReadSyncError, ValidationError } from '../protocol';

/** Where the client's bearer tokens come from: the one it was given, and the app's `getToken` for the next ones. */
export class TokenSource {
  constructor(
    private readonly first: string | undefined,
    private readonly getToken: (() => string | Promise<string>) | undefined,
  ) {
    if (first !== undefined && (typeof first !== 'string' || first === '')) throw new ValidationError('createReadSyncClient: token must be a non-empty string');
    if (getToken !== undefined && typeof getToken !== 'function') throw new ValidationError('createReadSyncClient: getToken must be a function');
    if (first === undefined && getToken === undefined) throw new ValidationError('createReadSyncClient: pass a token, a getToken function, or both');
  }

  /** Whether the app can be asked for a new token. */
  get canRefresh(): boolean {
    return this.getToken !== undefined;
  }

  /** The token to start with: the given one, else the app's first. */
  initial(): Promise<string> {
    return this.first !== undefined ? Promise.resolve(this.first) : this.next();
  }

  /** Asks the app for a (new) token; a failure or a non-token answer is a typed error. */
  async next(): Promise<string> {
    if (!this.getToken) throw new AuthError('the server refused the token and no getToken was given: call client.setToken(token)');
    let token: unknown;
    try {
      token = await this.getToken();
    } catch (err) {
      if (err instanceof ReadSyncError) throw err;
      throw new AuthError(`getToken failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (typeof token !== 'string' || token === '') throw new ValidationError('getToken must resolve to a non-empty string');
    return token;
  }
}
