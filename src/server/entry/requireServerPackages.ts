/**
 * The packages the reference server loads at run time. They are optional peer
 * dependencies of readsync, so `npm install readsync` in a browser app does not
 * bring a web framework and a native SQLite build; whoever runs the server
 * installs them with {@link SERVER_INSTALL_COMMAND}.
 */
export const SERVER_PACKAGES = ['fastify', '@fastify/websocket', 'better-sqlite3'] as const;

/** The install command for the server's packages (majors as in readsync's peerDependencies). */
export const SERVER_INSTALL_COMMAND = 'npm install fastify@5 @fastify/websocket@11 better-sqlite3@12';

/** Thrown by {@link requireServerPackages}; `code` is stable, the message names the install command. */
export class MissingServerPackagesError extends Error {
  override readonly name = 'MissingServerPackagesError';
  readonly code = 'missing-server-packages';

  constructor(
    who: string,
    readonly missing: readonly string[],
  ) {
    super(
      `${who} needs ${SERVER_PACKAGES.join(', ')}, optional peer dependencies of readsync ` +
        `(missing: ${missing.join(', ')}). Install them: ${SERVER_INSTALL_COMMAND}`,
    );
  }
}

/** Node's answer when the package itself is absent (not one of its own dependencies, nor a broken native build). */
function isMissing(err: unknown, name: string): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return code === 'ERR_MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${name}'`);
}

/**
 * Loads the server's packages, or throws one error naming all that are missing
 * and the command that installs them. Entries call it before importing the
 * server: a static import of an absent package fails while Node links the
 * module graph, before any code of ours could explain.
 */
export async function requireServerPackages(who: string): Promise<void> {
  const missing: string[] = [];
  await Promise.all(
    SERVER_PACKAGES.map(async (name) => {
      try {
        await import(/* @vite-ignore */ name);
      } catch (err) {
        if (!isMissing(err, name)) throw err;
        missing.push(name);
      }
    }),
  );
  if (missing.length > 0) throw new MissingServerPackagesError(who, SERVER_PACKAGES.filter((name) => missing.includes(name)));
}
