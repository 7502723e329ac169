// npm run lint, with dependency-cruiser for the layering (.dependency-cruiser.cjs): typescript-eslint's
// type-aware recommended rules, minus those that would only demand mass rewriting.
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['.data/', '.tools/', 'dist/', 'web/dist/', 'node_modules/']),
  {
    files: ['**/*.ts', '**/*.tsx'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits loses its errors (and in a workflow, its ordering).
      '@typescript-eslint/no-floating-promises': 'error',
      // pg rows, JSON bodies and provider payloads are `any` by nature; typing each would be a rewrite.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Fastify plugins are async by contract, with or without an await inside.
      '@typescript-eslint/require-await': 'off',
      // Activities are methods of a factory's object that Temporal (and tests) call detached.
      '@typescript-eslint/unbound-method': 'off',
      // Normalizers stringify untyped provider values on purpose (String(unknown)).
      '@typescript-eslint/no-base-to-string': 'off',
      // `_name` marks a deliberately unused binding, e.g. a field left out of a rest object.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/restrict-template-expressions': ['error', {
        allow: [{ from: 'lib', name: ['Error', 'URL', 'URLSearchParams'] }, { from: 'package', package: 'url', name: ['URL', 'URLSearchParams'] }],
      }],
    },
  },
);
