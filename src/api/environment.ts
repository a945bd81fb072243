// Environment (metal.sidero.dev/v1alpha2): the kernel and initramfs a server netboots
// (as Sidero Metal's Environment CRD has them). Cluster-scoped.
import { join } from 'node:path';
import type { KindDefinition, KubeObject } from '../machinery/kind.js';
import {
  Enum,
  List,
  Obj,
  Opt,
  Str,
  StringList,
  Type,
  ageColumn,
  atomicList,
  column,
  kindSchema,
  type Static,
} from './schema.js';

const assetFields = (what: string) => ({
  url: Opt(Str(`Download URL of the ${what}.`)),
  sha512: Opt(Str(`SHA-512 of the ${what} (hex); when given, the download must have it.`)),
});

const EnvironmentSpec = Obj(
  {
    kernel: Opt(
      Obj({ ...assetFields('kernel'), args: Opt(StringList('Kernel command line arguments.')) }, 'The kernel to boot.'),
    ),
    initrd: Opt(Obj(assetFields('initramfs'), 'The initramfs to boot.')),
  },
  'Assets to netboot.',
);

// Not a CAPI condition: one entry per asset, all of type Ready, so the list is atomic.
const AssetCondition = Obj(
  {
    url: Opt(Str('URL of the asset this condition is about.')),
    sha512: Opt(Str('SHA-512 of the asset.')),
    type: Str('Condition type; always Ready.'),
    status: Enum(['True', 'False'] as const, 'True when the asset is downloaded (and its SHA-512 verified).'),
    reason: Opt(Str('Why the asset is not ready: DownloadFailed, ChecksumMismatch, OutboundNotAllowed, NoURL.')),
    message: Opt(Str('Human-readable details of the reason.')),
  },
  'Readiness of one downloaded asset.',
);

const EnvironmentStatus = Obj(
  {
    conditions: Opt(List(AssetCondition, 'One Ready condition per asset.', atomicList)),
  },
  'Download state of the assets.',
);

export const EnvironmentSchema = Type.Object(
  {
    spec: Opt(EnvironmentSpec),
    status: Opt(EnvironmentStatus),
  },
  { description: 'Environment is a kernel and initramfs that servers netboot.' },
);

export type EnvironmentSpec = Static<typeof EnvironmentSpec>;
export type EnvironmentStatus = Static<typeof EnvironmentStatus>;
export type Environment = Static<typeof EnvironmentSchema> & KubeObject;

/** the assets an Environment boots, by the file name they are cached and served under */
export const ENVIRONMENT_ASSETS = [
  { field: 'kernel', file: 'vmlinuz' },
  { field: 'initrd', file: 'initramfs.xz' },
] as const;

/**
 * Sidero's readiness: every asset has a URL and a Ready=True condition for that same URL (the files
 * are then in the cache, verified).
 */
export function environmentReady(env: Environment): boolean {
  const conditions = env.status?.conditions ?? [];
  return ENVIRONMENT_ASSETS.every(({ field }) => {
    const url = env.spec?.[field]?.url;
    return !!url && conditions.some((c) => c.type === 'Ready' && c.status === 'True' && c.url === url);
  });
}

export const environmentKind: KindDefinition = {
  group: 'metal.sidero.dev',
  version: 'v1alpha2',
  kind: 'Environment',
  listKind: 'EnvironmentList',
  plural: 'environments',
  singular: 'environment',
  namespaced: false,
  shortNames: [],
  categories: ['talos'],
  description: EnvironmentSchema.description!,
  schema: kindSchema(EnvironmentSchema),
  columns: [
    column('Kernel', '.spec.kernel.url', 'string', 'Kernel URL.'),
    column('Initrd', '.spec.initrd.url', 'string', 'Initramfs URL.'),
    column('Ready', '.status.conditions[?(@.type=="Ready")].status', 'string', 'Readiness of each asset.'),
    ageColumn,
  ],
  selectableFields: [],
  statusSubresource: true,
  trackGeneration: true,
  strategy: {},
};

/** where an Environment's kernel and initrd are cached under the data directory (the controller writes, the boot listener reads) */
export const environmentCacheDir = (dataDir: string, name: string): string =>
  join(dataDir, environmentKind.plural, name);

/** Talos's own default kernel arguments: the built-in Environment and the agent's boot both start from them */
export const TALOS_DEFAULT_KERNEL_ARGS: readonly string[] = [
  'init_on_alloc=1',
  'slab_nomerge=',
  'pti=on',
  'consoleblank=0',
  'nvme_core.io_timeout=4294967295',
  'printk.devkmsg=on',
];
