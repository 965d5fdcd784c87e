// `npm run check:package` (after the build): is the published package right?
//
// 1. publint --strict: package.json against the packed files.
// 2. @arethetypeswrong/cli on the packed tarball, profile esm-only: every entry
//    must resolve to its types and JavaScript under node16 (from ESM) and
//    bundler. readsync is ESM-only; node10 and node16-from-CJS are not checked
//    (see "Packaging" in docs/architecture.md for what `require` users get).
// 3. A type test: a consumer project (in a temp dir, the tarball unpacked as
//    node_modules/readsync, everything else linked from this repo's
//    node_modules) imports `ReadState`, `createReadSyncClient` from 'readsync',
//    the worker's and the server's API, readsync/react's provider and hooks
//    (given a client of 'readsync'), and is type-checked with
//    moduleResolution node16, nodenext and bundler, skipLibCheck off so the
//    shipped .d.ts files are checked too. `@ts-expect-error` lines fail the
//    test if a type resolved to `any`.
// 4. The declared values agree with the JavaScript: for each entry, the names
//    the .d.ts exports as values are the names `import()` gives at run time
//    (the server with its peer packages present, as in this repo).
//
// Offline: nothing is downloaded. CI runs it (.ci/run).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repo = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'readsync-package-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const bin = (name) => join(repo, 'node_modules', '.bin', name);
const failures = [];

function step(title, cmd, args, cwd = repo) {
  console.log(`\n== ${title}\n$ ${[cmd, ...args].map((a) => a.replace(repo, '').replace(work, '$TMP')).join(' ')}`);
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) failures.push(title);
  return r.status === 0;
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

try {
  // Pack once: attw and the type test see exactly the published files.
  const tarball = join(work, JSON.parse(run(npm, ['pack', '--json', '--pack-destination', work], repo))[0].filename);

  step('publint', bin('publint'), ['--strict']);
  step('attw (types of every entry, ESM-only profile)', bin('attw'), [tarball, '--profile', 'esm-only', '--no-definitely-typed', '--format', 'table']);

  // The consumer project.
  const app = join(work, 'app');
  const modules = join(app, 'node_modules');
  mkdirSync(join(modules, 'readsync'), { recursive: true });
  run('tar', ['-xzf', tarball, '-C', join(modules, 'readsync'), '--strip-components=1'], work);
  for (const entry of readdirSync(join(repo, 'node_modules'))) {
    if (entry.startsWith('.') || entry === 'readsync') continue;
    symlinkSync(join(repo, 'node_modules', entry), join(modules, entry));
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'readsync-type-test', private: true, type: 'module' }));
  writeFileSync(
    join(app, 'consumer.ts'),
    `import { createReadSyncClient, ReadSyncError, type ReadState, type ReadSyncClient } from 'readsync';
import { createWorkerApi, type Transport } from 'readsync/worker';
import { createSyncServer, MemoryStore, type SyncServer } from 'readsync/server';
import { ReadSyncProvider, useReadState, useReadTracker, type LiveResult } from 'readsync/react';
import { createElement, type ReactNode } from 'react';

export const makeClient: typeof createReadSyncClient = createReadSyncClient;
export function label(state: ReadState): string {
  return state.label;
}
export async function serve(): Promise<SyncServer> {
  return createSyncServer({ store: new MemoryStore() });
}
export type Parts = [ReadSyncClient, Transport, ReturnType<typeof createWorkerApi>, ReadSyncError];
// readsync/react takes the client of 'readsync' (its own .d.ts must not declare an incompatible one).
export function app(client: ReadSyncClient, children: ReactNode) {
  return createElement(ReadSyncProvider, { client }, children);
}
export function useLabel(id: string): string {
  const line: LiveResult<ReadState | null> = useReadState(id);
  const track = useReadTracker({ minVisibleMs: 300 });
  track(id);
  return line.data?.label ?? line.error?.code ?? '';
}

// Each of these must be a type error; if a type resolved to \`any\`, it is not, and the test fails.
// @ts-expect-error ReadState is an object, not a string
export const notAString: ReadState = 'read';
// @ts-expect-error createReadSyncClient needs its options
createReadSyncClient();
// @ts-expect-error createSyncServer knows its options
void createSyncServer({ notAnOption: true });
// @ts-expect-error useReadState takes a message id
void useReadState(42);
`,
  );

  const modes = {
    node16: { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 },
    nodenext: { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext },
    bundler: { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler },
  };
  const host = {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => app,
    getNewLine: () => '\n',
  };
  let bundlerProgram;
  for (const [mode, moduleOptions] of Object.entries(modes)) {
    console.log(`\n== type test, moduleResolution ${mode} (strict, skipLibCheck off)`);
    const program = ts.createProgram([join(app, 'consumer.ts')], {
      ...moduleOptions,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
      types: ['node'],
      strict: true,
      noEmit: true,
      skipLibCheck: false,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program);
    if (diagnostics.length > 0) {
      console.log(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
      failures.push(`type test (${mode})`);
    } else console.log('ok');
    if (mode === 'bundler') bundlerProgram = program;
  }

  // Declared values vs run-time exports.
  console.log('\n== declared values = run-time exports');
  const checker = bundlerProgram.getTypeChecker();
  const consumer = bundlerProgram.getSourceFile(join(app, 'consumer.ts'));
  const candidates = {};
  for (const statement of consumer.statements) {
    if (!ts.isImportDeclaration(statement) || !statement.moduleSpecifier.text.startsWith('readsync')) continue;
    const moduleSymbol = checker.getSymbolAtLocation(statement.moduleSpecifier);
    candidates[statement.moduleSpecifier.text] = checker
      .getExportsOfModule(moduleSymbol)
      .filter((s) => ((s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s).flags & ts.SymbolFlags.Value) !== 0)
      .map((s) => s.name)
      .sort();
  }
  // A name with a value meaning may still be exported type-only (`export type { X }`, `export type *`):
  // use each one as a value and drop those the compiler refuses (TS1361/TS1362).
  const specs = Object.keys(candidates);
  const alias = (i, name) => `v${i}_${name}`;
  writeFileSync(
    join(app, 'values.ts'),
    specs.map((spec, i) => `import { ${candidates[spec].map((n) => `${n} as ${alias(i, n)}`).join(', ')} } from '${spec}';`).join('\n') +
      `\nexport const used = [${specs.flatMap((spec, i) => candidates[spec].map((n) => alias(i, n))).join(', ')}];\n`,
  );
  const valuesProgram = ts.createProgram([join(app, 'values.ts')], { ...modes.bundler, target: ts.ScriptTarget.ES2022, types: ['node'], noEmit: true, skipLibCheck: true });
  const typeOnly = new Set();
  for (const d of ts.getPreEmitDiagnostics(valuesProgram)) {
    const match = /'v(\d+)_(\w+)'/.exec(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    if ((d.code === 1361 || d.code === 1362) && match) typeOnly.add(`${specs[Number(match[1])]}#${match[2]}`);
  }
  const declared = Object.fromEntries(specs.map((spec) => [spec, candidates[spec].filter((n) => !typeOnly.has(`${spec}#${n}`))]));
  const probe = `const out = {};
for (const spec of ${JSON.stringify(Object.keys(declared))}) out[spec] = Object.keys(await import(spec)).sort();
console.log(JSON.stringify(out));`;
  const actual = JSON.parse(run(process.execPath, ['--input-type=module', '-e', probe], app));
  for (const [spec, names] of Object.entries(declared)) {
    const onlyDeclared = names.filter((n) => !actual[spec].includes(n));
    const onlyAtRuntime = actual[spec].filter((n) => !names.includes(n));
    if (onlyDeclared.length + onlyAtRuntime.length === 0) console.log(`${spec}: ${names.length} values, the same in both`);
    else {
      console.log(`${spec}: declared but not exported at run time: [${onlyDeclared.join(', ')}]; exported but not declared: [${onlyAtRuntime.join(', ')}]`);
      failures.push(`declared values of ${spec}`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log(failures.length > 0 ? `\ncheck:package: FAIL (${failures.join('; ')})` : '\ncheck:package: ok');
process.exit(failures.length > 0 ? 1 : 0);
