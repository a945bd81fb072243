// Fields of the node runtime documents (install, sysctls, files, kernel modules, logs, events,
// containers, the container runtime and its registries, extensions, discovery, SideroLink), per
// Talos release: the kind's own release is in kinds.ts, keys added later carry theirs here.
import { bool, int, list, map, mapping, obj, oneOf, since, str, until, type Shape } from './schema.js';

export const unattendedInstall: Shape = obj({
  installer: obj({ image: str }),
  provisioning: obj({ diskSelector: obj({ match: str }), wipe: bool }),
  reboot: bool,
});

/** SysctlConfig and SysfsConfig: parameter -> value. */
export const paramsConfig: Shape = obj({ params: map(str) });

export const etcFileConfig: Shape = obj({ contents: str, mode: int, name: str }, ['name']);

export const kernelModuleConfig: Shape = obj({ name: str, parameters: list(str) }, ['name']);

export const udevRulesConfig: Shape = obj({ rules: list(str) });

export const environmentConfig: Shape = obj({ variables: map(str) });

export const securityProfileConfig: Shape = obj({ workloadIsolation: bool });

export const oomConfig: Shape = obj({
  cgroupRankingExpression: str,
  sampleInterval: str,
  strictCgroupClassOrdering: bool,
  triggerExpression: str,
});

export const eventSinkConfig: Shape = obj({ endpoint: str });

export const kmsgLogConfig: Shape = obj({ name: str, url: str });

export const watchdogTimerConfig: Shape = obj({ device: str, timeout: str });

export const trustedRootsConfig: Shape = obj({ certificates: str, name: str }, ['name']);

export const sideroLinkConfig: Shape = obj({ apiUrl: str, uniqueToken: since(1, 10, str) });

export const pciDriverRebindConfig: Shape = obj({ name: str, targetDriver: str }, ['name', 'targetDriver']);

export const extensionServiceConfig: Shape = obj(
  { configFiles: list(obj({ content: str, mountPath: str })), environment: list(str), name: str },
  ['name'],
);

export const discoveryIdentityConfig: Shape = obj({ clusterID: str, clusterSecret: str }, [
  'clusterID',
  'clusterSecret',
]);

export const discoveryServiceConfig: Shape = obj({ endpoint: str, name: str }, ['endpoint', 'name']);

export const registryAuthConfig: Shape = obj(
  { auth: str, identityToken: str, name: str, password: str, username: str },
  ['name'],
);

export const registryMirrorConfig: Shape = obj(
  { endpoints: list(obj({ overridePath: bool, url: str }, ['url'])), name: str, skipFallback: bool },
  ['name'],
);

export const registryTLSConfig: Shape = obj(
  {
    ca: str,
    // the client certificate was `crt` up to 1.13 and is `cert` from 1.14 on
    clientIdentity: obj({ cert: since(1, 14, str), crt: until(1, 13, str, '`cert`'), key: str }),
    insecureSkipVerify: bool,
    name: str,
  },
  ['name'],
);

export const imageCacheConfig: Shape = obj({ local: obj({ enabled: bool }) });

export const criBaseRuntimeSpecConfig: Shape = obj({ overrides: mapping });

export const criCustomizationConfig: Shape = obj({ content: str, name: str }, ['name']);

// `networks` (readiness conditions) and a user volume's `options` are lists of these values; the
// schema describes each as one value
export const containerConfig: Shape = obj({
  args: list(str),
  dependsOn: obj({
    containers: list(str),
    networks: list(oneOf('addresses', 'connectivity', 'hostname', 'etcfiles')),
    paths: list(str),
    time: bool,
  }),
  entrypoint: list(str),
  environment: list(str),
  image: str,
  mounts: list(
    obj({
      hostPath: obj({ destination: str, options: list(str), source: str }),
      tmpfs: obj({ destination: str, options: list(str), size: str }),
      userVolume: obj({
        destination: str,
        name: str,
        options: list(oneOf('ro', 'rw', 'noexec', 'nosuid', 'nodev', 'noatime', 'rbind', 'rshared')),
      }),
    }),
  ),
  name: str,
  network: obj({ mode: str }),
  resources: obj({ limits: obj({ cpu: str, memory: str }) }),
  runAs: obj({ gid: int, uid: int }),
  security: obj({ capabilities: obj({ add: list(str), drop: list(str) }), profile: str }),
  workingDir: str,
});
