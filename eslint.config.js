// Lint rules that keep each directory in its room (docs/architecture.md):
// src/machinery knows no kind, src/api does no I/O, nothing in src/ imports the HTTP edges.
import tseslint from 'typescript-eslint';

const edges = ['**/apiservice/**', '**/webhooks/**'];
const io = ['node:fs', 'node:fs/promises', 'fs', 'fs/promises', 'node:net', 'node:http', 'node:https', 'node:http2', 'node:tls',
  'node:child_process', 'child_process', 'http', 'https', 'net', 'tls', 'node:dgram', 'express', '@grpc/grpc-js', 'etcd3', 'pino'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/**', '.data/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: edges, message: 'src/ must not import the HTTP edges (apiservice/, webhooks/).' }] }],
    },
  },
  {
    files: ['src/machinery/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: edges, message: 'src/ must not import the HTTP edges (apiservice/, webhooks/).' },
          { group: ['**/api/**', '**/api/*', '../api', '../../api'], message: 'src/machinery knows no kind: do not import src/api.' },
          { group: ['**/controllers/**', '**/talos/**', '**/machineconfig/**'], message: 'src/machinery is generic: no controllers, Talos or machine config.' },
        ],
      }],
    },
  },
  {
    files: ['src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: io.map((name) => ({ name, message: 'src/api declares kinds and does no I/O.' })),
        patterns: [
          { group: edges, message: 'src/ must not import the HTTP edges (apiservice/, webhooks/).' },
          { group: ['**/storage/**', '**/controllers/**', '**/talos/**'], message: 'src/api does no I/O.' },
        ],
      }],
    },
  },
  {
    files: ['src/storage/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['node:http', 'node:https', 'http', 'https', 'express'].map((name) => ({ name, message: 'storage never imports HTTP code.' })),
        patterns: [{ group: [...edges, '**/machinery/**', '**/api/**'], message: 'storage knows no HTTP, machinery or kinds.' }],
      }],
    },
  },
);
