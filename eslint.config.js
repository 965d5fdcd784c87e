// Lint = correctness rules from typescript-eslint plus the import boundaries of
// CONVENTIONS.md, enforced with the built-in no-restricted-imports.
import tseslint from 'typescript-eslint';

const boundary = (files, patterns) => ({
  files,
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'demo/dist/**', 'dev-dist/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  boundary(['src/protocol/**'], [{ group: ['../*', '!../protocol', '../../*', 'dexie', 'rxjs', 'comlink', 'react'], message: 'src/protocol is pure: it imports nothing else of ours.' }]),
  boundary(['src/bridge/**'], [{ group: ['../client*', '../server*', '../../worker*', 'dexie', 'rxjs'], message: 'src/bridge holds only the UI/worker contract.' }]),
  boundary(['src/client/**'], [
    { group: ['../server*', '../../src/server*'], message: 'src/client never imports the server.' },
    { group: ['../../worker*', '!../../worker/**/*?worker*'], allowTypeImports: true, message: 'src/client imports worker/ only as types.' },
    { group: ['dexie'], message: 'Dexie lives in the worker.' },
    { group: ['react', 'react-dom', '../react*'], message: 'React is an optional peer: only src/react imports it.' },
  ]),
  boundary(['src/react/**'], [
    { group: ['../server*', '../../worker*', '../client/*', 'dexie', 'comlink', 'react-dom'], message: 'src/react uses the client through its public index (../client), and React itself only.' },
  ]),
  boundary(['src/server/**'], [{ group: ['../client*', '../../client*', '../bridge*', '../../bridge*', '../../worker*', '../../../worker*', 'dexie', 'comlink', 'rxjs'], message: 'src/server never imports worker/, src/client or Dexie.' }]),
  boundary(['worker/**'], [{ group: ['../src/client*', '../../src/client*', '../src/server*', '../../src/server*', '../../../src/server*', '../src/react*', '../../src/react*', 'react'], message: 'worker/ never imports src/client or src/server.' }]),
);
