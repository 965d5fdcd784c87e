import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

/**
 * Serves a built SPA/PWA from `root` on GET requests that no API route
 * matched. Paths are resolved inside `root` only; unknown paths without an
 * extension fall back to index.html (client-side routing). The app shell and
 * service worker are `no-cache` so a new deploy is picked up; hashed assets
 * are immutable.
 */
export function serveStatic(app: FastifyInstance, root: string): void {
  const base = resolve(root);
  app.get('/*', { config: { public: true } }, async (req, reply) => {
    let path: string;
    try {
      path = decodeURIComponent((req.url.split('?')[0] ?? '/').replace(/\/+$/, '/'));
    } catch {
      return reply.code(400).send({ name: 'ValidationError', code: 'invalid-argument', message: 'bad path', status: 400 });
    }
    if (path.includes('\0')) return reply.code(400).send({ name: 'ValidationError', code: 'invalid-argument', message: 'bad path', status: 400 });
    let file = resolve(join(base, path.endsWith('/') ? `${path}index.html` : path));
    if (file !== base && !file.startsWith(base + sep)) return reply.code(404).send({ name: 'ReadSyncError', code: 'not-found', message: 'not found', status: 404 });
    let info = await stat(file).catch(() => null);
    if (!info?.isFile() && extname(path) === '') {
      file = join(base, 'index.html');
      info = await stat(file).catch(() => null);
    }
    if (!info?.isFile()) return reply.code(404).send({ name: 'ReadSyncError', code: 'not-found', message: 'not found', status: 404 });
    const ext = extname(file);
    const name = file.slice(base.length + 1);
    const immutable = name.startsWith(`assets${sep}`);
    reply.header('content-type', TYPES[ext] ?? 'application/octet-stream');
    reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    reply.header('x-content-type-options', 'nosniff');
    return reply.send(await readFile(file));
  });
}
