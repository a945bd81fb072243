// Environment (metal.sidero.dev/v1alpha2): the kernel and initramfs a server netboots
// (as Sidero Metal's Environment CRD has them). Cluster-scoped.
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
  sha512: Opt(Str(`Declared SHA-512 of the ${what} (not verified).`)),
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
    status: Enum(['True', 'False'] as const, 'True when the asset is downloaded.'),
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
