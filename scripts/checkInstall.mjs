// `npm run check:install`: what a browser app gets from `npm install readsync`
// (SPEC §8: only what the browser runs, none of the server's packages).
//
// Packs the library (`npm pack`, so exactly the published files), creates a
// fresh app in a temp dir (package.json type module), installs the tarball
// with `npm install --no-audit --no-fund` from the npm registry and reports:
// the number of packages installed, the install time, which installed
// packages carry an install script and whether a native build ran, npm's
// EBADENGINE / allowScripts warnings, and that `readsync`, `readsync/worker`
// resolve and load in Node while `readsync/server` (whose packages are
// optional peers) stops with an error naming the install command, and
// `readsync/react` (React is an optional peer too) fails naming 'react'.
//
// Exits 1 when the browser install pulls in a server package, React (or a
// native build), or when an entry does not load as described; 2 on a broken harness.
//
//   node scripts/checkInstall.mjs                 # packs this checkout (run `npm run build` first)
//   node scripts/checkInstall.mjs --dir <path>    # packs another checkout (the "before" figure in docs/benchmarks.md)
//   node scripts/checkInstall.mjs --cold          # with an empty npm cache: every tarball downloaded
//   node scripts/checkInstall.mjs --json          # the report as JSON
//   node scripts/checkInstall.mjs --keep          # keep the temp app and print where it is
//
// CI runs it (`.ci/run`, after the tests and check:package, whose build it
// reuses): it needs the npm registry, which CI reaches, and the install takes
// ~7 s (five packages); ~30 s with the build of `npm run check:install`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    dir: { type: 'string' },
    cold: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

/** Packages of the reference server and its native build: none may arrive with a browser install. */
const SERVER_PACKAGES = ['fastify', '@fastify/websocket', 'ws', 'better-sqlite3', '@types/better-sqlite3', 'node-gyp', 'prebuild-install', 'bindings'];
/** React is an optional peer too (only `readsync/react` imports it): a non-React app must not get it. */
const REACT_PACKAGES = ['react', 'react-dom', '@types/react', 'scheduler'];
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const pkgDir = resolve(opts.dir ?? fileURLToPath(new URL('..', import.meta.url)));
const work = mkdtempSync(join(tmpdir(), 'readsync-install-'));

function run(cmd, args, cwd, env = {}) {
  const started = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  return { ...r, ms: performance.now() - started };
}

function harness(message) {
  console.error(`check:install: ${message}`);
  if (!opts.keep) rmSync(work, { recursive: true, force: true });
  process.exit(2);
}

/** Every installed package, nested ones included: `name` → [package dirs]. */
function installedPackages(nodeModules, found = new Map()) {
  if (!existsSync(nodeModules)) return found;
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dirs = entry.name.startsWith('@')
      ? readdirSync(join(nodeModules, entry.name), { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => join(nodeModules, entry.name, e.name))
      : [join(nodeModules, entry.name)];
    for (const dir of dirs) {
      const manifest = join(dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const { name } = JSON.parse(readFileSync(manifest, 'utf8'));
      found.set(name, [...(found.get(name) ?? []), dir]);
      installedPackages(join(dir, 'node_modules'), found);
    }
  }
  return found;
}

/** Install-time scripts npm would run for a package (a binding.gyp alone means `node-gyp rebuild`). */
function installScripts(dir) {
  const { scripts = {} } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const found = ['preinstall', 'install', 'postinstall'].filter((s) => scripts[s]).map((s) => `${s}: ${scripts[s]}`);
  if (!scripts.install && !scripts.preinstall && existsSync(join(dir, 'binding.gyp'))) found.push('install: node-gyp rebuild (binding.gyp)');
  return found;
}

/** Native addons that exist because something was compiled here (build/Release/*.node). */
function nativeBuilds(dir) {
  const release = join(dir, 'build', 'Release');
  return existsSync(release) ? readdirSync(release).filter((f) => f.endsWith('.node')) : [];
}

// 1. Pack.
if (!existsSync(join(pkgDir, 'dist'))) harness(`${pkgDir}/dist is missing: run \`npm run build\` there first`);
const pack = run(npm, ['pack', '--json', '--pack-destination', work], pkgDir);
if (pack.status !== 0) harness(`npm pack failed:\n${pack.stderr}`);
const packed = JSON.parse(pack.stdout)[0];
const tarball = join(work, packed.filename);

// 2. A fresh app installs the tarball.
const app = join(work, 'app');
run('mkdir', ['-p', app], work);
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'readsync-install-check', private: true, version: '0.0.0', type: 'module' }, null, 2));
const cacheEnv = opts.cold ? { npm_config_cache: join(work, 'npm-cache') } : {};
const install = run(npm, ['install', '--no-audit', '--no-fund', tarball], app, cacheEnv);
if (install.status !== 0) harness(`npm install failed (${install.status}):\n${install.stdout}\n${install.stderr}`);
const npmOutput = `${install.stdout}\n${install.stderr}`;

// 3. What arrived.
const packages = installedPackages(join(app, 'node_modules'));
const serverPackages = SERVER_PACKAGES.filter((name) => packages.has(name));
const reactPackages = REACT_PACKAGES.filter((name) => packages.has(name));
const withScripts = [];
const compiled = [];
for (const [name, dirs] of packages) {
  for (const dir of dirs) {
    const scripts = installScripts(dir);
    if (scripts.length > 0) withScripts.push({ name, scripts });
    const addons = nativeBuilds(dir);
    if (addons.length > 0) compiled.push({ name, addons });
  }
}
const direct = Object.keys(JSON.parse(readFileSync(join(app, 'node_modules', 'readsync', 'package.json'), 'utf8')).dependencies ?? {});

// 4. The entries, as Node sees them from the app.
const probe = `
const out = {};
for (const spec of ['readsync', 'readsync/worker', 'readsync/react', 'readsync/server']) {
  const r = { resolved: null, loaded: false, exports: 0, error: null };
  try { r.resolved = import.meta.resolve(spec).replace(/^.*node_modules\\//, ''); } catch (e) { r.error = e.message; }
  if (r.resolved) {
    try { r.exports = Object.keys(await import(spec)).length; r.loaded = true; } catch (e) { r.error = e.message.split('\\n')[0]; }
  }
  out[spec] = r;
}
console.log(JSON.stringify(out));
`;
const probed = run(process.execPath, ['--input-type=module', '-e', probe], app);
if (probed.status !== 0) harness(`the import probe failed:\n${probed.stderr}`);
const entries = JSON.parse(probed.stdout);
// ESM-only, with a plain `default` condition: Node >= 20.19 can require() the browser entries; the
// server entry has top-level await (the package check), so require() of it says to use import().
// Reported, not judged.
const requireProbe = `const out = {};
for (const spec of ['readsync', 'readsync/worker', 'readsync/server']) {
  try { out[spec] = 'ok, ' + Object.keys(require(spec)).length + ' exports'; } catch (e) { out[spec] = (e.code ?? 'error') + ': ' + e.message.split('\\n')[0]; }
}
console.log(JSON.stringify(out));`;
const required = JSON.parse(run(process.execPath, ['-e', requireProbe], app).stdout);
const bin = run(join(app, 'node_modules', '.bin', 'readsync-server'), ['--help'], app);
const binOutput = `${bin.stdout}${bin.stderr}`.trim().split('\n')[0];

// 5. Verdict.
const problems = [];
if (serverPackages.length > 0) problems.push(`server packages installed with the browser library: ${serverPackages.join(', ')}`);
if (reactPackages.length > 0) problems.push(`React installed with a non-React app: ${reactPackages.join(', ')}`);
const react = entries['readsync/react'];
if (reactPackages.length === 0 && (react.loaded || !/'react'/.test(react.error ?? ''))) {
  problems.push(`readsync/react without React should fail naming the 'react' package, got: ${react.loaded ? 'it loaded' : react.error}`);
}
if (compiled.length > 0) problems.push(`a native build ran: ${compiled.map((c) => c.name).join(', ')}`);
for (const spec of ['readsync', 'readsync/worker']) {
  if (!entries[spec].loaded) problems.push(`${spec} does not load in Node: ${entries[spec].error}`);
}
const server = entries['readsync/server'];
if (serverPackages.length === 0 && (server.loaded || !/npm install fastify/.test(server.error ?? ''))) {
  problems.push(`readsync/server without its packages should stop with the install command, got: ${server.loaded ? 'it loaded' : server.error}`);
}
if (serverPackages.length === 0 && (bin.status !== 1 || !/npm install fastify/.test(binOutput))) {
  problems.push(`readsync-server without its packages should exit 1 with the install command, got ${bin.status}: ${binOutput}`);
}

const report = {
  package: `${packed.name}@${packed.version}`,
  tarball: { files: packed.entryCount, packedKiB: +(packed.size / 1024).toFixed(1), unpackedKiB: +(packed.unpackedSize / 1024).toFixed(1) },
  cache: opts.cold ? 'cold (empty npm cache)' : 'warm (the npm cache of this user)',
  installSeconds: +(install.ms / 1000).toFixed(1),
  packages: [...packages.values()].reduce((n, dirs) => n + dirs.length, 0) - 1,
  npmAdded: Number(/added (\d+) packages?/.exec(npmOutput)?.[1] ?? NaN),
  dependencies: direct,
  serverPackages,
  reactPackages,
  installScripts: withScripts,
  nativeBuild: compiled.length > 0 ? compiled : 'no',
  warnings: {
    EBADENGINE: (npmOutput.match(/EBADENGINE/g) ?? []).length,
    allowScripts: (npmOutput.match(/allowScripts/g) ?? []).length,
  },
  entries,
  require: required,
  bin: { command: 'readsync-server --help', exitCode: bin.status, firstLine: binOutput },
  problems,
};

if (opts.json) console.log(JSON.stringify(report, null, 2));
else {
  const yesNo = (b) => (b ? 'yes' : 'no');
  console.log(`check:install: ${report.package} into a fresh app (${report.cache})`);
  console.log(`  tarball          ${report.tarball.files} files, ${report.tarball.packedKiB} KiB packed`);
  console.log(`  install time     ${report.installSeconds} s`);
  console.log(`  packages         ${report.packages} besides readsync in node_modules; npm says "added ${report.npmAdded}" (dependencies: ${direct.join(', ')})`);
  console.log(`  server packages  ${serverPackages.length > 0 ? serverPackages.join(', ') : 'none'}`);
  console.log(`  React packages   ${reactPackages.length > 0 ? reactPackages.join(', ') : 'none'}`);
  console.log(`  install scripts  ${withScripts.length > 0 ? withScripts.map((s) => `${s.name} (${s.scripts.join('; ')})`).join(', ') : 'none'}`);
  console.log(`  native build     ${compiled.length > 0 ? `yes: ${compiled.map((c) => `${c.name} ${c.addons.join(' ')}`).join(', ')}` : 'no'}`);
  console.log(`  npm warnings     EBADENGINE ${report.warnings.EBADENGINE}, allowScripts ${report.warnings.allowScripts}`);
  for (const [spec, r] of Object.entries(entries)) {
    console.log(`  ${spec.padEnd(16)} resolves ${r.resolved ?? 'no'}; loads ${yesNo(r.loaded)}${r.loaded ? ` (${r.exports} exports)` : `: ${r.error}`}`);
  }
  for (const [spec, r] of Object.entries(required)) console.log(`  require('${spec}')${' '.repeat(Math.max(1, 17 - spec.length))}${r}`);
  console.log(`  readsync-server  --help exits ${bin.status}: ${binOutput}`);
  console.log(problems.length > 0 ? `FAIL\n  - ${problems.join('\n  - ')}` : 'ok: the browser install carries only what the browser runs');
}
if (opts.keep) console.log(`kept: ${work}`);
else rmSync(work, { recursive: true, force: true });
process.exit(problems.length > 0 ? 1 : 0);
