// Lint: each folder in its room (docs/architecture.md), type-aware checks of promises, and the
// formatter's verdict runs separately (`prettier --check`, in `npm run lint`).
//
// LAYERS is an allow-list: every folder that holds code names the folders it may import. A file
// in a folder not listed here fails lint, and so does an import of a folder not in its list. The
// list itself must stay acyclic (checked below when the config loads), so no two folders can come
// to depend on each other.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';

const ROOT = path.dirname(fileURLToPath(import.meta.url));

const src = (...names) => names.map((n) => `src/${n}`);
/** every production folder a test may exercise (not hack/bench, which imports test/helpers) */
const PRODUCTION = [
  ...src('admission', 'api', 'cli', 'controllers', 'events', 'kubeapi', 'machineconfig', 'machinery', 'managementapi'),
  ...src('nodeaccess', 'pki', 'power', 'secrets', 'storage', 'subresources', 'talos', 'boot'),
  'apiservice',
  'webhooks',
  'hack/talos-sim',
  'hack/bmc-sim',
];

export const LAYERS = {
  // the storage contract and its backends: bytes under keys, no kinds, no HTTP
  'src/storage': [],
  // generic API semantics over storage; knows no kind
  'src/machinery': src('storage'),
  // the kinds: declarations only, no I/O
  'src/api': src('machinery'),
  'src/talos': src('machinery'),
  'src/pki': [],
  'src/machineconfig': src('api', 'machinery'),
  'src/managementapi': src('talos'),
  'src/kubeapi': src('machinery'),
  'src/secrets': src('api', 'kubeapi', 'machinery'),
  'src/events': src('api', 'kubeapi', 'machinery'),
  'src/nodeaccess': src('api', 'machinery', 'secrets', 'talos'),
  // bare-metal power control (IPMI, Redfish, HTTP management API); knows the Server kind only as data
  'src/power': src('api', 'machinery', 'secrets', 'talos'),
  // the boot listener's logic: iPXE decisions, the Environment cache, /configdata, agent registration
  'src/boot': src('api', 'machinery', 'secrets'),
  'src/admission': src('api', 'kubeapi', 'machineconfig', 'machinery', 'secrets'),
  'src/subresources': src('api', 'events', 'machineconfig', 'machinery', 'nodeaccess', 'secrets', 'talos'),
  'src/controllers': src(
    'api',
    'events',
    'kubeapi',
    'machineconfig',
    'machinery',
    'managementapi',
    'nodeaccess',
    'power',
    'secrets',
    'storage',
    'talos',
  ),
  'src/cli': src('admission', 'api', 'kubeapi', 'machineconfig', 'machinery'),
  webhooks: src('admission', 'machinery'),
  apiservice: [
    ...src(
      'admission',
      'api',
      'controllers',
      'events',
      'kubeapi',
      'machinery',
      'nodeaccess',
      'power',
      'pki',
      'secrets',
      'storage',
    ),
    ...src('subresources', 'talos', 'boot'),
    'webhooks',
  ],
  // the simulator's bare-metal machines each run a fake Redfish BMC of hack/bmc-sim
  'hack/talos-sim': [...src('api', 'kubeapi', 'machinery', 'talos'), 'hack/bmc-sim'],
  // fake BMCs (Redfish, Sidero's HTTP power API) and OpenIPMI's ipmi_sim, for tests and the simulator
  'hack/bmc-sim': [],
  hack: ['apiservice', 'hack/talos-sim', ...src('api', 'machinery')],
  'hack/bench': [...src('api', 'controllers', 'machinery', 'storage'), 'test/helpers'],
  'hack/fuzz': [...src('api', 'machinery'), 'test/helpers'],
  'test/helpers': PRODUCTION,
  'test/e2e': [...PRODUCTION, 'test/helpers'],
  // test/unit reads the allow-list itself ('.': eslint.config.js) to check it
  'test/unit': [...PRODUCTION, 'hack', 'hack/fuzz', 'test/e2e', 'test/helpers', '.'],
  'test/cli': [...PRODUCTION, 'test/e2e', 'test/helpers'],
  'test/storage': [...PRODUCTION, 'test/helpers'],
  'test/talos': [...PRODUCTION, 'test/helpers'],
  'test/managementapi': [...PRODUCTION, 'test/helpers'],
  'test/power': [...PRODUCTION, 'test/helpers'],
  'test/bench': [...PRODUCTION, 'test/helpers'],
  // configuration files at the top of the repository
  '.': [],
};

/** the folder a repository path belongs to: src/x, hack/x, test/x, or the top folder itself */
export function roomOf(relPath) {
  const parts = relPath.split(/[\\/]/);
  if (parts.length === 1) return '.';
  if (['src', 'hack', 'test'].includes(parts[0]) && parts.length > 2) return `${parts[0]}/${parts[1]}`;
  return parts[0];
}

/** the first cycle in the allow-list, as a path of folders, or undefined */
export function layerCycle(layers) {
  const state = new Map();
  const visit = (room, trail) => {
    if (state.get(room) === 'done') return undefined;
    if (state.get(room) === 'open') return [...trail.slice(trail.indexOf(room)), room];
    state.set(room, 'open');
    for (const next of layers[room] ?? []) {
      const cycle = visit(next, [...trail, room]);
      if (cycle) return cycle;
    }
    state.set(room, 'done');
    return undefined;
  };
  for (const room of Object.keys(layers)) {
    const cycle = visit(room, []);
    if (cycle) return cycle;
  }
  return undefined;
}

const cycle = layerCycle(LAYERS);
if (cycle) throw new Error(`eslint.config.js: LAYERS has a cycle: ${cycle.join(' -> ')}`);
for (const [room, allowed] of Object.entries(LAYERS)) {
  for (const target of allowed)
    if (!(target in LAYERS)) throw new Error(`eslint.config.js: ${room} may import ${target}, which is not declared`);
}

const layersRule = {
  meta: {
    type: 'problem',
    schema: [],
    docs: { description: 'imports follow the LAYERS allow-list of eslint.config.js' },
  },
  create(context) {
    const file = path.relative(ROOT, context.filename);
    const from = roomOf(file);
    if (!(from in LAYERS)) {
      return {
        Program(node) {
          context.report({
            node,
            message: `${file} is in ${from}/, a folder eslint.config.js's LAYERS does not declare: add it with the folders it may import`,
          });
        },
      };
    }
    const check = (node, spec) => {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = roomOf(path.relative(ROOT, path.resolve(path.dirname(context.filename), spec)));
      if (target === from || LAYERS[from].includes(target)) return;
      context.report({
        node,
        message: `${from} may not import ${target} (LAYERS in eslint.config.js: ${from} may import ${LAYERS[from].join(', ') || 'nothing of ours'})`,
      });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

const io = [
  'node:fs',
  'node:fs/promises',
  'fs',
  'fs/promises',
  'node:net',
  'node:http',
  'node:https',
  'node:http2',
  'node:tls',
  'node:child_process',
  'child_process',
  'http',
  'https',
  'net',
  'tls',
  'node:dgram',
  '@grpc/grpc-js',
  'etcd3',
  'pino',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'bench/**',
      '.data/**',
      '.data-demo/**',
      'src/talos/gen/**',
      'coverage/**',
      'test-results/**',
    ],
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] }, tsconfigRootDir: ROOT },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, layers: { rules: { 'allowed-imports': layersRule } } },
    rules: {
      'layers/allowed-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    files: ['src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: io.map((name) => ({ name, message: 'src/api declares kinds and does no I/O.' })) },
      ],
    },
  },
  {
    files: ['src/storage/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['node:http', 'node:https', 'http', 'https'].map((name) => ({
            name,
            message: 'storage never imports HTTP code.',
          })),
        },
      ],
    },
  },
);
