// ESLint across the workspace: @eslint/js and typescript-eslint recommended, Prettier owns layout.
// `pnpm run lint` runs this, then `prettier --check`, then the import boundaries (dependency-cruiser).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/dist-bench/**', '**/generated/**', '**/node_modules/**', '**/coverage/**', '.alloquy/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The code runs with noUncheckedIndexedAccess: `array[i]!` after a bounds check is the
      // deliberate way to say "this index exists"; the compiler, not the linter, polices it.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // An unused name is a mistake unless it says it is deliberate with a leading underscore
      // (callback parameters a signature requires, array holes, rest-omitted properties).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrors: 'all',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // Getters in object literals and subclasses that publish `this` need the alias; strict's
      // noImplicitThis already catches the `this` mistakes the rule is meant to prevent.
      '@typescript-eslint/no-this-alias': 'off',
    },
  },
  {
    // Test code reads HTTP bodies untyped on purpose (each test checks the fields it needs), and
    // declarations of untyped npm modules describe `any` APIs. Sources must say why, inline.
    files: ['**/test/**/*.ts', '**/bench/**/*.ts', '**/*.test.ts', '**/*.d.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Browser code: the protocol package, the client library's browser entry, and what the browser
    // tests load into Chromium.
    files: ['packages/protocol/src/**/*.ts', 'clients/lib/src/video/**/*.ts', 'clients/lib/test/support/browser-*/**/*.ts'],
    ignores: ['**/*.test.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Plain JavaScript (build scripts, configs, fixtures) is CommonJS where it says so.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);
