import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '.data/**',
      '.nx/**',
      'libs/db/src/generated/**',
      'sdks/python/**',
      'sdks/js/examples/**',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message:
            'Read the environment only in config code (config.ts, libs/config, libs/testing).',
        },
      ],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'type:contracts'] },
            { sourceTag: 'type:db', onlyDependOnLibsWithTags: ['type:lib', 'type:contracts'] },
            {
              sourceTag: 'type:testing',
              onlyDependOnLibsWithTags: ['type:lib', 'type:contracts', 'type:db'],
            },
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: ['type:lib', 'type:contracts', 'type:db', 'type:testing'],
            },
            // The gateway and the operator CLI reach data only through the services' queues: they
            // import no database code (tests of libs may pull libs/testing into the graph, so
            // this is about direct imports).
            {
              sourceTag: 'scope:gateway',
              onlyDependOnLibsWithTags: ['type:lib', 'type:contracts', 'type:testing'],
            },
            {
              sourceTag: 'scope:admin',
              onlyDependOnLibsWithTags: ['type:lib', 'type:contracts'],
            },
            // The console is a client of /v1 and the auth-server: no database; Redis (its sessions)
            // only through @cap/queue's connection helpers.
            {
              sourceTag: 'scope:console',
              onlyDependOnLibsWithTags: ['type:lib', 'type:contracts', 'type:testing'],
            },
          ],
        },
      ],
    },
  },
  {
    // Only repositories (and libs/db) touch Prisma's API; services get plain contract types.
    files: ['apps/**/*.ts'],
    ignores: ['apps/**/*.repository.ts', 'apps/**/*.int-spec.ts', 'apps/**/test/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@cap/db',
              importNames: ['Prisma', 'PrismaClient', 'createPrismaClient'],
              message: 'Only repositories use Prisma.',
            },
          ],
          patterns: [{ group: ['@prisma/*'], message: 'Only libs/db imports Prisma packages.' }],
        },
      ],
    },
  },
  {
    files: [
      'libs/config/**/*.ts',
      'libs/testing/**/*.ts',
      'apps/*/src/config.ts',
      'scripts/**/*.ts',
      'bench/**/*.ts',
    ],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts'],
    rules: {
      // Tests of any project may use the testing lib (real databases, queue prefixes, apps).
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          depConstraints: [
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:testing'] },
            {
              sourceTag: '*',
              onlyDependOnLibsWithTags: ['type:lib', 'type:contracts', 'type:db', 'type:testing'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-syntax': 'off',
    },
  },
);
