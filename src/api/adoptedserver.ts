// AdoptedServer (metal.sidero.dev/v1alpha2): an already-running Talos node brought under management
// without reprovisioning, as Sidero Metal's Adopted Server feature describes it (the kind is not in
// upstream Sidero's CRDs). Namespaced, unlike Sidero's Server.
import type { FieldError } from '../machinery/errors.js';
import { fieldErr } from '../machinery/errors.js';
import type { KindDefinition, KubeObject } from '../machinery/kind.js';
import {
  Bool,
  Conditions,
  DateTime,
  Enum,
  NodeAddresses,
  Obj,
  Opt,
  Str,
  StringMap,
  Type,
  ageColumn,
  column,
  kindSchema,
  type Static,
} from './schema.js';
import { hostPortPattern, hostPortProblem, hostPortRule, valueAt } from './validate.js';

/** Lets the controller unregister the node from the Management API before the object goes away. */
export const adoptedServerFinalizer = 'adoptedserver.metal.sidero.dev';

/**
 * On a deleted AdoptedServer whose finalizer waits for the Management API (down, or refusing):
 * any value lets the controller drop the finalizer without unregistering the node there.
 */
export const releaseWithoutManagementAPIAnnotation = 'metal.sidero.dev/release-without-management-api';

/**
 * the four condition types of Sidero Metal's Adopted Server feature, and Ready summing them up for
 * `kubectl wait --for=condition=Ready`; NodeTypeMatches compares spec.talos.nodeType with what the
 * node is, and ManagementAPIUnregistered tells what a deletion waits for
 */
export const adoptedServerConditionTypes = [
  'Ready',
  'Connected',
  'Adopted',
  'SideroLinkReady',
  'ManagementAPISync',
  'NodeTypeMatches',
  'ManagementAPIUnregistered',
] as const;

export const nodeTypes = ['controlplane', 'worker'] as const;

export const upgradePhases = ['Upgrading', 'Staged', 'Rebooting', 'Completed', 'Failed'] as const;
export type UpgradePhase = (typeof upgradePhases)[number];

const TalosSpec = Obj(
  {
    endpoint: Str(
      'Address of the node\'s Talos API (apid) as host:port, e.g. "192.168.1.10:50000". The host is a DNS name, an IPv4 address or an IPv6 address in brackets.',
      { pattern: hostPortPattern, 'x-pattern-rule': hostPortRule },
    ),
    nodeType: Enum(nodeTypes, 'Talos machine type of the node: controlplane or worker.'),
    talosVersion: Opt(Str('Declared Talos version, e.g. v1.8.3. The observed version is in status.nodeInfo.')),
    kubernetesVersion: Opt(Str('Declared Kubernetes version, e.g. v1.31.1.')),
    hostname: Opt(Str('Hostname of the node.')),
    talosconfigSecretRef: Opt(
      Obj(
        {
          name: Str("Name of the Secret, in the AdoptedServer's namespace, that holds the talosconfig."),
          key: Opt(Str("Key in the Secret's data holding the talosconfig.", { default: 'talosconfig' })),
        },
        "Secret holding the talosconfig used to reach this node's Talos API.",
      ),
    ),
  },
  "How to reach the node's Talos API and what the node is.",
);

const AdoptedServerSpec = Obj(
  {
    talos: TalosSpec,
    managementAPI: Opt(
      Obj(
        {
          enabled: Opt(Bool('Sync this object with the external Talos Management API.', { default: false })),
          endpoint: Opt(Str('Base URL of the Management API, e.g. http://management-api:8090.')),
          clusterName: Opt(Str('Name of the cluster in the Management API.')),
          clusterID: Opt(Str('ID (UUID) of the cluster in the Management API.')),
        },
        "Integration with the external Talos Management API (not Sidero's power-control managementApi).",
      ),
    ),
    sideroLink: Opt(
      Obj(
        {
          enabled: Opt(Bool('Set up a monitoring-only SideroLink tunnel to the node.', { default: false })),
          address: Opt(Str('Tunnel address of the node (IPv6 prefix).')),
          publicKey: Opt(Str('WireGuard public key of the node (base64).')),
        },
        'SideroLink monitoring tunnel settings.',
      ),
    ),
    accepted: Opt(Bool('The server is managed only when accepted is true.', { default: false })),
    labels: Opt(StringMap("Labels to apply to the node's Kubernetes Node.")),
    annotations: Opt(StringMap("Annotations to apply to the node's Kubernetes Node.")),
  },
  'Desired state of the adopted server.',
);

const AdoptedServerStatus = Obj(
  {
    observedGeneration: Opt(Type.Integer({ description: 'The metadata.generation this status was computed from.' })),
    ready: Opt(Bool('Accepted, connected and healthy.')),
    connected: Opt(Bool('The Talos API answered the last probe.')),
    lastContactTime: Opt(DateTime('Last successful contact with the Talos API.')),
    conditions: Opt(
      Conditions(
        "Ready, Connected, Adopted, SideroLinkReady, ManagementAPISync and NodeTypeMatches conditions; ManagementAPIUnregistered while a deletion waits for the Management API. Ready's reason says why a server is not Ready.",
      ),
    ),
    // Health is a claim about now. When a look cannot ask the node (not accepted, no credentials,
    // unreachable), the status is Unknown rather than the last verdict, and lastCheckTime keeps when
    // the node was last asked. That rule is chosen over an age limit on lastCheckTime: every look
    // (each --resync-period) either asks the node or says Unknown, so a check older than that only
    // remains when no controller runs, which no status can say of itself.
    health: Opt(
      Obj(
        {
          status: Opt(
            Enum(
              ['Healthy', 'Degraded', 'Unhealthy', 'Unknown'] as const,
              'Health summary: Healthy, Degraded, Unhealthy, or Unknown when the node could not be asked on the last look.',
            ),
          ),
          lastCheckTime: Opt(DateTime('When the last health check ran.')),
          message: Opt(Str('Details of the last health check.')),
        },
        'Result of the last health check.',
      ),
    ),
    addresses: Opt(NodeAddresses('Addresses reported by the node.')),
    managementAPIStatus: Opt(
      Obj(
        {
          synced: Opt(Bool('The last sync with the Management API succeeded.')),
          lastSyncTime: Opt(DateTime('When the last sync ran.')),
          message: Opt(Str('Details of the last sync.')),
        },
        'Result of the last Management API sync.',
      ),
    ),
    sideroLinkStatus: Opt(
      Obj(
        {
          connected: Opt(Bool('The SideroLink tunnel is up.')),
          address: Opt(Str('Tunnel address in use.')),
          lastHandshakeTime: Opt(DateTime('Last WireGuard handshake.')),
        },
        'State of the SideroLink tunnel.',
      ),
    ),
    upgrade: Opt(
      Obj(
        {
          phase: Opt(
            Enum(
              upgradePhases,
              'Upgrading (the node accepted it), Staged (performed on the next reboot), Rebooting, Completed or Failed.',
            ),
          ),
          image: Opt(Str('Installer image of the upgrade.')),
          fromVersion: Opt(Str('Talos version before the upgrade.')),
          toVersion: Opt(Str('Talos version the upgrade installs, when the image names one.')),
          actorID: Opt(Str('ID the node gave to the upgrade.')),
          startedAt: Opt(DateTime('When the node accepted the upgrade.')),
          finishedAt: Opt(DateTime('When the upgrade completed or failed.')),
          message: Opt(Str('Details of the current phase.')),
        },
        'The last upgrade started through the upgrade subresource, and how far it got.',
      ),
    ),
    nodeInfo: Opt(
      Obj(
        {
          uuid: Opt(Str('SMBIOS UUID of the node.')),
          hostname: Opt(Str('Observed hostname.')),
          talosVersion: Opt(Str('Observed Talos version.')),
          kubernetesVersion: Opt(Str('Observed Kubernetes version.')),
          nodeType: Opt(Str('Observed Talos machine type.')),
          architecture: Opt(Str('CPU architecture, e.g. amd64.')),
          kernelVersion: Opt(Str('Running kernel version.')),
        },
        'Values observed on the node; they may differ from the declared spec.talos fields.',
      ),
    ),
  },
  'Observed state of the adopted server.',
);

export const AdoptedServerSchema = Type.Object(
  {
    spec: AdoptedServerSpec,
    status: Opt(AdoptedServerStatus),
  },
  { description: 'AdoptedServer is an already-running Talos node managed without reprovisioning.' },
);

export type AdoptedServerSpec = Static<typeof AdoptedServerSpec>;
export type AdoptedServerStatus = Static<typeof AdoptedServerStatus>;
export type AdoptedServer = Static<typeof AdoptedServerSchema> & KubeObject;

function validate(obj: KubeObject): FieldError[] {
  const endpoint = valueAt(obj, 'spec.talos.endpoint');
  if (typeof endpoint !== 'string') return [];
  const problem = hostPortProblem(endpoint);
  return problem ? [fieldErr.invalid('spec.talos.endpoint', endpoint, problem)] : [];
}

/** the declared hostname, else the one the node reported: adopted nodes rarely declare one */
function hostnameOf(obj: KubeObject): string | undefined {
  const a = obj as Partial<AdoptedServer>;
  return a.spec?.talos?.hostname || a.status?.nodeInfo?.hostname || undefined;
}

export const adoptedServerKind: KindDefinition = {
  group: 'metal.sidero.dev',
  version: 'v1alpha2',
  kind: 'AdoptedServer',
  listKind: 'AdoptedServerList',
  plural: 'adoptedservers',
  singular: 'adoptedserver',
  namespaced: true,
  shortNames: ['as'],
  categories: ['talos'],
  description: AdoptedServerSchema.description!,
  schema: kindSchema(AdoptedServerSchema),
  columns: [
    {
      ...column(
        'Hostname',
        '.spec.talos.hostname',
        'string',
        'Hostname of the node: spec.talos.hostname, else the one the node reported (status.nodeInfo.hostname).',
      ),
      value: hostnameOf,
    },
    column('Endpoint', '.spec.talos.endpoint', 'string', 'Talos API endpoint.', 1),
    column('Type', '.spec.talos.nodeType', 'string', 'Talos machine type.'),
    column('Accepted', '.spec.accepted', 'boolean', 'The server is accepted for management.'),
    column('Connected', '.status.connected', 'boolean', 'The Talos API answered the last probe.'),
    column('Ready', '.status.ready', 'boolean', 'Accepted, connected and healthy.'),
    column(
      'Health',
      '.status.health.status',
      'string',
      'Health of the last look; Unknown when the node could not be asked.',
    ),
    column('Talos', '.status.nodeInfo.talosVersion', 'string', 'Observed Talos version.', 1),
    column(
      'Reason',
      '.status.conditions[?(@.type=="Ready")].reason',
      'string',
      'Reason of the Ready condition: why the server is not Ready.',
      1,
    ),
    ageColumn,
  ],
  selectableFields: ['spec.talos.nodeType', 'spec.accepted', 'spec.talos.hostname'],
  statusSubresource: true,
  trackGeneration: true,
  strategy: { validate },
};
