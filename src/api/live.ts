// The live subresources of AdoptedServer: what they are called, which kinds they answer with and
// how their request bodies look. Declarations only: src/nodeaccess asks the node, src/subresources serves them.
import { fieldErr, type FieldError } from '../machinery/errors.js';
import type { CustomSubresource } from '../machinery/discovery.js';
import type { JSONSchema } from '../machinery/kind.js';
import { Bool, Enum, Int, List, Obj, Opt, Str, Type, kindSchema, mapList, type Static } from './schema.js';

export const healthStatuses = ['Healthy', 'Degraded', 'Unhealthy'] as const;
export type HealthStatus = (typeof healthStatuses)[number];

const HealthCheck = Obj(
  {
    name: Str('What was checked, e.g. reachable, service/etcd, etcd-members.'),
    status: Enum(healthStatuses, 'Healthy, Degraded (works, but not as it should) or Unhealthy.'),
    message: Str('What was found.'),
    durationMs: Int('How long the check took, in milliseconds.'),
  },
  'One check of a health report.',
);

export const HealthReportSchema = Type.Object(
  {
    status: Enum(healthStatuses, 'Healthy when every check is, Unhealthy when any check is, Degraded otherwise.'),
    checks: List(HealthCheck, 'The checks, in the order they ran.', mapList('name')),
  },
  { description: 'HealthReport is the result of asking a Talos node about its health now.' },
);
export type HealthReportCheck = Static<typeof HealthCheck>;

export const rebootModes = ['default', 'powercycle'] as const;

const UpgradeRequestSpec = Obj(
  {
    version: Opt(
      Str('Talos version to upgrade to, e.g. v1.13.10; the image is then the installer image of that version.', {
        pattern: '^v?[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$',
      }),
    ),
    image: Opt(
      Str('Installer image to upgrade with, e.g. ghcr.io/siderolabs/installer:v1.13.10. Either version or image.', {
        minLength: 1,
      }),
    ),
    stage: Opt(Bool('Stage the upgrade: it is performed on the next reboot.', { default: false })),
    force: Opt(Bool('Skip the etcd health and quorum checks on a control-plane node.', { default: false })),
    allowDowngrade: Opt(
      Bool('Allow a version older than the one running (not more than Talos supports going back).', {
        default: false,
      }),
    ),
    preserve: Opt(Bool('Kept for compatibility; Talos 1.8 and newer ignore it.', { default: false })),
    rebootMode: Opt(
      Enum(rebootModes, 'How the node reboots: default (kexec where possible) or powercycle.', { default: 'default' }),
    ),
  },
  'What to upgrade to and how.',
);

const UpgradeRequestStatus = Obj(
  {
    phase: Opt(Str('Started when the node accepted the upgrade.')),
    image: Opt(Str('Installer image the node was asked to upgrade with.')),
    fromVersion: Opt(Str('Talos version the node ran when the upgrade started.')),
    actorID: Opt(Str('ID the node gave to the upgrade.')),
    message: Opt(Str('What the node answered.')),
  },
  'What was started.',
);

export const UpgradeRequestSchema = Type.Object(
  {
    spec: UpgradeRequestSpec,
    status: Opt(UpgradeRequestStatus),
  },
  { description: 'UpgradeRequest starts a Talos upgrade of one node and says what was started.' },
);
export type UpgradeRequestSpec = Static<typeof UpgradeRequestSpec>;
export type UpgradeRequestStatus = Static<typeof UpgradeRequestStatus>;

/** the object schema request bodies are checked with (compileKindSchema) */
export const upgradeRequestBodySchema = { schema: kindSchema(UpgradeRequestSchema) };

/** version or image, not both, not neither */
export function validateUpgradeRequest(spec: UpgradeRequestSpec): FieldError[] {
  if (spec.version && spec.image) {
    return [fieldErr.forbidden('spec.image', 'may not be specified together with spec.version')];
  }
  if (!spec.version && !spec.image)
    return [fieldErr.required('spec.version', 'spec.version or spec.image is required')];
  return [];
}

/** the Talos version an installer image names in its tag, if it does */
export function versionOfImage(image: string): string | undefined {
  const tag = /:(v?[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?)$/.exec(image)?.[1];
  return tag ? (tag.startsWith('v') ? tag : `v${tag}`) : undefined;
}

const KubeconfigSchema: JSONSchema = {
  type: 'string',
  description: "The admin kubeconfig of the node's Kubernetes cluster, as YAML (application/yaml).",
};

const responseSchema = (s: { description?: string }): JSONSchema => s as JSONSchema;

/** AdoptedServer's live subresources, for discovery, OpenAPI and routing */
export const adoptedServerSubresources: CustomSubresource[] = [
  {
    resource: 'adoptedservers',
    name: 'health',
    kind: 'HealthReport',
    verbs: ['get'],
    schema: responseSchema(HealthReportSchema),
    description: 'asks the node now: reachability, version, services and, on a control plane, etcd',
  },
  {
    resource: 'adoptedservers',
    name: 'kubeconfig',
    kind: 'Kubeconfig',
    verbs: ['get'],
    secretMaterial: true,
    schema: KubeconfigSchema,
    description: 'streams the admin kubeconfig from a control-plane node as application/yaml',
  },
  {
    resource: 'adoptedservers',
    name: 'upgrade',
    kind: 'UpgradeRequest',
    verbs: ['create'],
    schema: responseSchema(UpgradeRequestSchema),
    description: "starts a Talos upgrade of the node; progress shows in the AdoptedServer's status and events",
  },
];
