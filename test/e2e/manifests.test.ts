// The install manifests (manifests/) as kubectl really renders them: every variant goes through the
// real `kubectl kustomize` (offline, no cluster), with the serving certificate made by the real
// hack/gen-serving-certs.sh, and the rendered objects are checked for what an aggregated API server
// needs in a cluster (APIServices, delegated auth RBAC, a reachable Service, health probes).
import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { connect, createServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseServerOptions } from '../../apiservice/options.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'hack/gen-serving-certs.sh');

const NS = 'talos-fleet-system';
const SVC = 'talos-fleet-apiserver';
const FQDN = `${SVC}.${NS}.svc`;
const SANS = [SVC, `${SVC}.${NS}`, FQDN, `${FQDN}.cluster.local`];
const IMAGE = 'ghcr.io/talos-fleet/apiserver:0.1.0';
const DATA_DIR = '/var/lib/talos-fleet';
const GROUPS = { 'metal.sidero.dev': 'v1alpha2', 'vitistack.io': 'v1alpha1' } as const;
const RESOURCES: Record<string, string[]> = {
  'metal.sidero.dev': ['adoptedservers', 'servers', 'serverclasses', 'environments'],
  'vitistack.io': ['kubernetesclusters', 'machines'],
};
const SECRET_SUBRESOURCES = [
  'metal.sidero.dev|adoptedservers/kubeconfig',
  'vitistack.io|machines/machineconfig',
  'vitistack.io|kubernetesclusters/talosconfig',
];

type Obj = Record<string, any>;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((res) => {
    execFile(
      cmd,
      args,
      { env: { ...process.env, KUBECONFIG: '/dev/null' }, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        res({ code, stdout, stderr });
      },
    );
  });
}

async function kustomize(dir: string): Promise<Obj[]> {
  const r = await run('kubectl', ['kustomize', dir]);
  expect(r.code, `kubectl kustomize ${dir}: ${r.stderr}`).toBe(0);
  const docs = parseAllDocuments(r.stdout);
  const objs: Obj[] = [];
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    expect(d.errors, `YAML errors in the output of ${dir}`).toEqual([]);
    const o = d.toJS();
    if (o) objs.push(o);
  }
  return objs;
}

async function genCerts(out: string, ...args: string[]): Promise<Run> {
  const r = await run(SCRIPT, [...args, out]);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

function all(objs: Obj[], kind: string): Obj[] {
  return objs.filter((o) => o.kind === kind);
}

function one(objs: Obj[], kind: string, name: string, namespace?: string): Obj {
  const found = objs.filter((o) => o.kind === kind && o.metadata?.name === name && o.metadata?.namespace === namespace);
  expect(found, `${kind} ${namespace ? `${namespace}/` : ''}${name}`).toHaveLength(1);
  return found[0]!;
}

/** the workload of a variant: exactly one StatefulSet or Deployment */
function workload(objs: Obj[]): Obj {
  const w = objs.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment');
  expect(w.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toHaveLength(1);
  expect(w[0]!.metadata).toMatchObject({ name: SVC, namespace: NS });
  return w[0]!;
}

function apiserverContainer(w: Obj): Obj {
  const cs = w.spec.template.spec.containers as Obj[];
  expect(cs.map((c) => c.name)).toEqual(['apiserver']);
  return cs[0]!;
}

/** the value of a flag written as `--flag=value` or `--flag value`; true for a bare `--flag` */
function flag(args: string[], name: string): string | true | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
    if (a === name) {
      const next = args[i + 1];
      return next !== undefined && !next.startsWith('--') ? next : true;
    }
  }
  return undefined;
}

function mountFor(c: Obj, path: string): Obj {
  const m = (c.volumeMounts as Obj[]).filter((v) => v.mountPath === path);
  expect(m, `a volume mounted at ${path}`).toHaveLength(1);
  return m[0]!;
}

function volume(w: Obj, name: string): Obj | undefined {
  return (w.spec.template.spec.volumes as Obj[]).find((v) => v.name === name);
}

/** Kubernetes memory quantities as they appear here (Ki, Mi, Gi) in bytes */
function bytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q);
  if (!m) throw new Error(`unexpected quantity ${q}`);
  return Number(m[1]) * { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] ?? '']!;
}

/** rules as a sorted list of "group|resource|verb" */
function triples(rules: Obj[]): string[] {
  const out: string[] = [];
  for (const r of rules) {
    expect(r.resourceNames, 'no resourceNames').toBeUndefined();
    expect(r.nonResourceURLs, 'no nonResourceURLs in resource roles').toBeUndefined();
    for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.push(`${g}|${res}|${v}`);
  }
  return [...new Set(out)].sort();
}

function expected(spec: Record<string, Record<string, string[]>>): string[] {
  const out: string[] = [];
  for (const [g, byRes] of Object.entries(spec))
    for (const [res, verbs] of Object.entries(byRes)) for (const v of verbs) out.push(`${g}|${res}|${v}`);
  return out.sort();
}

function perResource(verbs: string[], suffix = ''): Record<string, Record<string, string[]>> {
  return Object.fromEntries(
    Object.entries(RESOURCES).map(([g, rs]) => [g, Object.fromEntries(rs.map((r) => [r + suffix, verbs]))]),
  );
}

function merge(...specs: Record<string, Record<string, string[]>>[]): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const s of specs)
    for (const [g, byRes] of Object.entries(s))
      for (const [r, vs] of Object.entries(byRes)) {
        ((out[g] ??= {})[r] ??= []).push(...vs);
      }
  return out;
}

const VIEW = merge(perResource(['get', 'list', 'watch']), perResource(['get'], '/status'), {
  'metal.sidero.dev': { 'adoptedservers/health': ['get'] },
  'vitistack.io': { 'kubernetesclusters/health': ['get'] },
});
const EDIT = merge(VIEW, perResource(['create', 'update', 'patch', 'delete', 'deletecollection']), {
  'metal.sidero.dev': { 'adoptedservers/upgrade': ['create'] },
  'vitistack.io': { 'kubernetesclusters/upgrade': ['create'] },
});
const ADMIN = merge(EDIT, {
  'metal.sidero.dev': { 'adoptedservers/kubeconfig': ['get'] },
  'vitistack.io': {
    'machines/machineconfig': ['get'],
    'kubernetesclusters/talosconfig': ['get'],
    'kubernetesclusters/kubeconfig': ['get'],
  },
});

let tmp: string;
let manifests: string; // a copy of manifests/ with certs/ generated by the script
let certs: string;
let caPem: string;
const out: Record<string, Obj[]> = {};

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'manifests-test-'));
  manifests = join(tmp, 'manifests');
  // a developer's own manifests/certs stays out of the copy: the test generates its own
  cpSync(join(ROOT, 'manifests'), manifests, {
    recursive: true,
    filter: (src) => src !== join(ROOT, 'manifests', 'certs'),
  });
  certs = join(manifests, 'certs');
  await genCerts(certs);
  caPem = readFileSync(join(certs, 'ca.crt'), 'utf8');
  const variants: Record<string, string> = {
    top: manifests,
    base: join(manifests, 'base'),
    embedded: join(manifests, 'overlays/embedded'),
    etcd: join(manifests, 'overlays/etcd'),
    certManager: join(manifests, 'overlays/cert-manager'),
    crdWebhooks: join(manifests, 'overlays/crd-webhooks'),
  };
  await Promise.all(
    Object.entries(variants).map(async ([k, dir]) => {
      out[k] = await kustomize(dir);
    }),
  );
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('hack/gen-serving-certs.sh', () => {
  it('writes a CA and a serving certificate for the Service names, signed by that CA, with its key', () => {
    const ca = new X509Certificate(caPem);
    const leaf = new X509Certificate(readFileSync(join(certs, 'tls.crt')));
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIssued(ca)).toBe(true);
    const sans = (leaf.subjectAltName ?? '').split(', ').map((s) => s.replace(/^DNS:/, ''));
    expect(sans).toEqual(SANS);
    expect(leaf.checkHost(FQDN)).toBe(FQDN);
    expect(leaf.subject).toBe(`CN=${FQDN}`);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // extended key usage: serverAuth only
    expect(leaf.checkPrivateKey(createPrivateKey(readFileSync(join(certs, 'tls.key'))))).toBe(true);
    expect(new Date(leaf.validTo).getTime() - Date.now()).toBeGreaterThan(364 * 86400_000);
    for (const key of ['ca.key', 'tls.key'])
      expect(statSync(join(certs, key)).mode & 0o077, `${key} is private`).toBe(0);
    expect(readFileSync(join(certs, '.gitignore'), 'utf8')).toBe('*\n');
  });

  it('produces a certificate a TLS client accepts for <svc>.<ns>.svc with the CA as its only root (loopback)', async () => {
    const server = createServer(
      { cert: readFileSync(join(certs, 'tls.crt')), key: readFileSync(join(certs, 'tls.key')) },
      (s) => s.end('ok'),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    try {
      const hello = async (servername: string): Promise<string> => {
        const sock = connect({ host: '127.0.0.1', port, servername, ca: caPem });
        try {
          await once(sock, 'secureConnect');
          let data = '';
          for await (const chunk of sock) data += String(chunk);
          return data;
        } catch (e) {
          return `error: ${(e as NodeJS.ErrnoException).code}`;
        } finally {
          sock.destroy();
        }
      };
      expect(await hello(FQDN)).toBe('ok');
      expect(await hello('kubernetes.default.svc')).toBe('error: ERR_TLS_CERT_ALTNAME_INVALID');
    } finally {
      server.close();
    }
  });

  it('keeps the CA on a second run (the caBundle survives renewal) and replaces it with --new-ca', async () => {
    const dir = join(tmp, 'renew');
    await genCerts(dir);
    const ca1 = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const leaf1 = readFileSync(join(dir, 'tls.crt'), 'utf8');
    const r = await genCerts(dir);
    expect(r.stderr).toMatch(/reusing the CA/);
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe(ca1);
    const leaf2 = readFileSync(join(dir, 'tls.crt'), 'utf8');
    expect(leaf2).not.toBe(leaf1);
    expect(new X509Certificate(leaf2).verify(new X509Certificate(ca1).publicKey)).toBe(true);
    await genCerts(dir, '--new-ca');
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).not.toBe(ca1);
  });

  it('takes --namespace and --service for the names and the Secret', async () => {
    const dir = join(tmp, 'other');
    await genCerts(dir, '--namespace', 'fleet', '--service', 'api');
    const leaf = new X509Certificate(readFileSync(join(dir, 'tls.crt')));
    expect(leaf.subjectAltName).toBe('DNS:api, DNS:api.fleet, DNS:api.fleet.svc, DNS:api.fleet.svc.cluster.local');
    const k = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'));
    const kustomization = (Array.isArray(k) ? k[0] : k)!.toJS();
    expect(kustomization.kind).toBe('Component');
    expect(kustomization.secretGenerator).toEqual([
      expect.objectContaining({ name: 'api-tls', namespace: 'fleet', type: 'kubernetes.io/tls' }),
    ]);
  });

  it('refuses unknown options and names that are not DNS labels', async () => {
    const bad = await run(SCRIPT, ['--bogus', join(tmp, 'bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown option: --bogus/);
    const ns = await run(SCRIPT, ['--namespace', 'Not_A_Label', join(tmp, 'bad')]);
    expect(ns.code).toBe(2);
    expect(ns.stderr).toMatch(/--namespace must be a DNS label/);
  });
});

describe('rendering', () => {
  it('manifests/ (what `kubectl apply -k manifests/` installs) is the embedded overlay', () => {
    expect(out.top).toEqual(out.embedded);
  });

  it('fails, naming manifests/certs, until the script has written it', async () => {
    const bare = join(tmp, 'bare');
    cpSync(join(ROOT, 'manifests'), bare, {
      recursive: true,
      filter: (src) => src !== join(ROOT, 'manifests', 'certs'),
    });
    const r = await run('kubectl', ['kustomize', bare]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(join(bare, 'certs'));
    // the cert-manager variant needs no script
    expect((await kustomize(join(bare, 'overlays/cert-manager'))).length).toBeGreaterThan(0);
  });

  it('the base alone carries a placeholder caBundle that no overlay leaves behind', () => {
    const placeholder = Buffer.from(
      one(out.base!, 'APIService', 'v1alpha2.metal.sidero.dev').spec.caBundle,
      'base64',
    ).toString();
    expect(placeholder).toMatch(/^placeholder: /);
    expect(() => new X509Certificate(placeholder)).toThrow();
    for (const v of ['embedded', 'etcd', 'certManager', 'crdWebhooks']) {
      expect(JSON.stringify(out[v]), v).not.toContain('placeholder');
    }
  });

  it('every object has a kind, a name, and our namespace unless cluster-scoped or the kube-system RoleBinding', () => {
    const clusterScoped = new Set([
      'Namespace',
      'ClusterRole',
      'ClusterRoleBinding',
      'APIService',
      'MutatingWebhookConfiguration',
      'ValidatingWebhookConfiguration',
      'CustomResourceDefinition',
    ]);
    for (const [v, objs] of Object.entries(out)) {
      for (const o of objs) {
        const where = `${v}: ${o.kind}/${o.metadata?.name}`;
        expect(o.apiVersion, where).toBeTruthy();
        if (clusterScoped.has(o.kind)) expect(o.metadata.namespace, where).toBeUndefined();
        else if (o.kind === 'RoleBinding') expect(o.metadata.namespace, where).toBe('kube-system');
        else expect(o.metadata.namespace, where).toBe(NS);
      }
    }
  });

  it('the embedded and etcd variants differ only in the workload and what belongs to it', () => {
    const shared = (objs: Obj[]) =>
      objs
        .filter((o) => !['StatefulSet', 'Deployment', 'PodDisruptionBudget', 'ConfigMap'].includes(o.kind))
        .sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
    expect(shared(out.etcd!)).toEqual(shared(out.embedded!));
  });
});

/** what both workloads must satisfy; returns the container */
function checkPod(objs: Obj[], tlsSecretName: string): Obj {
  const w = workload(objs);
  const pod = w.spec.template.spec;
  const c = apiserverContainer(w);
  const labels = w.spec.template.metadata.labels;
  expect(w.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': SVC });
  expect(labels).toMatchObject(w.spec.selector.matchLabels);
  expect(pod.serviceAccountName).toBe(SVC);
  expect(c.image).toBe(IMAGE);

  // cluster mode on the HTTPS port, all interfaces
  const args = c.args as string[];
  expect(c.command, 'the image entrypoint runs; only args are set').toBeUndefined();
  expect(flag(args, '--in-cluster')).toBe(true);
  expect(flag(args, '--kubeconfig'), 'in-cluster, not a kubeconfig file').toBeUndefined();
  expect(flag(args, '--secure-port')).toBe('8443');
  expect(flag(args, '--bind-address')).toBe('0.0.0.0');
  expect(flag(args, '--data-dir')).toBe(DATA_DIR);

  // the serving certificate from the mounted Secret
  const cert = flag(args, '--tls-cert-file') as string;
  const key = flag(args, '--tls-private-key-file') as string;
  expect(basename(cert)).toBe('tls.crt');
  expect(basename(key)).toBe('tls.key');
  expect(dirname(key)).toBe(dirname(cert));
  const certMount = mountFor(c, dirname(cert));
  expect(certMount.readOnly).toBe(true);
  expect(volume(w, certMount.name)?.secret).toEqual({ secretName: tlsSecretName, defaultMode: 0o440 });

  // ports and probes: HTTPS on 8443, /livez and /readyz
  expect(c.ports).toEqual([{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
  const probe = (p: Obj | undefined, path: string) => {
    expect(p?.httpGet, `probe on ${path}`).toEqual({ path, port: 'https', scheme: 'HTTPS' });
    expect(p!.timeoutSeconds).toBeGreaterThan(0);
  };
  probe(c.livenessProbe, '/livez');
  probe(c.readinessProbe, '/readyz');
  probe(c.startupProbe, '/livez');

  // resources: requests for both, a memory limit, no CPU limit; V8's heap fits in the limit
  expect(Object.keys(c.resources.requests).sort()).toEqual(['cpu', 'memory']);
  expect(Object.keys(c.resources.limits)).toEqual(['memory']);
  const limit = bytes(c.resources.limits.memory);
  expect(limit).toBeGreaterThanOrEqual(bytes(c.resources.requests.memory));
  const nodeOptions = (c.env as Obj[]).find((e) => e.name === 'NODE_OPTIONS')?.value as string;
  const heap = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1]) * 1024 ** 2;
  expect(heap).toBeGreaterThan(0);
  expect(heap).toBeLessThan(limit);

  // restricted Pod Security: container settings override the pod's
  const sc = c.securityContext;
  const eff = (k: string) => sc[k] ?? pod.securityContext?.[k];
  expect(eff('runAsNonRoot')).toBe(true);
  expect(eff('runAsUser')).toBeGreaterThan(0);
  expect(sc.readOnlyRootFilesystem).toBe(true);
  expect(sc.allowPrivilegeEscalation).toBe(false);
  expect(sc.privileged).toBeUndefined();
  expect(sc.capabilities).toEqual({ drop: ['ALL'] });
  expect(eff('seccompProfile')).toEqual({ type: 'RuntimeDefault' });
  expect(pod.securityContext.fsGroup, 'volumes writable/readable by the non-root user').toBe(eff('runAsUser'));
  expect(pod.hostNetwork ?? false).toBe(false);

  // the root filesystem is read-only: /tmp is a small emptyDir, everything else writable is the data dir
  const tmpMount = mountFor(c, '/tmp');
  expect(volume(w, tmpMount.name)?.emptyDir?.sizeLimit).toBeTruthy();
  const writable = (c.volumeMounts as Obj[])
    .filter((m) => !m.readOnly)
    .map((m) => m.mountPath)
    .sort();
  expect(writable).toEqual(['/tmp', DATA_DIR]);
  return c;
}

/** the container's args as the server parses them, after the kubelet's $(VAR) expansion */
function serverOptions(objs: Obj[]): ReturnType<typeof parseServerOptions> {
  const c = apiserverContainer(workload(objs));
  const env: Record<string, string> = {};
  for (const e of (c.env ?? []) as Obj[]) {
    const ref = e.valueFrom?.configMapKeyRef;
    env[e.name] = ref ? one(objs, 'ConfigMap', ref.name, NS).data[ref.key] : e.value;
  }
  const args = (c.args as string[]).map((a) =>
    a.replace(/\$\((\w+)\)/g, (_, v: string) => {
      expect(env[v], `$(${v}) is defined`).toBeDefined();
      return env[v]!;
    }),
  );
  return parseServerOptions(args);
}

describe('the args are flags the server accepts (apiservice/options.ts)', () => {
  const common = {
    securePort: 8443,
    bindAddress: '0.0.0.0',
    dataDir: DATA_DIR,
    logLevel: 'info',
    tlsCertFile: '/etc/talos-fleet/serving/tls.crt',
    tlsPrivateKeyFile: '/etc/talos-fleet/serving/tls.key',
  };

  it('embedded: cluster mode in the pod, embedded store', () => {
    const o = serverOptions(out.embedded!);
    expect(o).toMatchObject({ ...common, storageBackend: 'embedded', etcd: { servers: [] } });
    expect(o.cluster).toMatchObject({
      inCluster: true,
      anonymousAuth: false,
      alwaysAllowPaths: ['/healthz', '/readyz', '/livez'],
    });
    expect(o.cluster?.kubeconfig).toBeUndefined();
  });

  it("etcd: the etcd3 backend on the ConfigMap's endpoints with the mounted client certificate", () => {
    const o = serverOptions(out.etcd!);
    const cm = all(out.etcd!, 'ConfigMap')[0]!;
    expect(o).toMatchObject({
      ...common,
      storageBackend: 'etcd3',
      etcd: {
        servers: String(cm.data.servers).split(','),
        prefix: '/talos-fleet',
        caFile: '/etc/talos-fleet/etcd/ca.crt',
        certFile: '/etc/talos-fleet/etcd/tls.crt',
        keyFile: '/etc/talos-fleet/etcd/tls.key',
      },
      shutdownDelayMs: 10_000,
    });
    expect(o.cluster?.inCluster).toBe(true);
    // the delay must fit in the grace period, with time left to drain
    expect(
      one(out.etcd!, 'Deployment', SVC, NS).spec.template.spec.terminationGracePeriodSeconds * 1000,
    ).toBeGreaterThan(o.shutdownDelayMs + 10_000);
  });

  it('crd-webhooks: no anonymous access (the webhook paths answer before authentication) and the generated CRDs', () => {
    const o = serverOptions(out.crdWebhooks!);
    expect(o.cluster).toMatchObject({
      inCluster: true,
      anonymousAuth: false,
      alwaysAllowPaths: ['/healthz', '/readyz', '/livez'],
    });
    const crds = all(out.crdWebhooks!, 'CustomResourceDefinition')
      .map((c: Obj) => c.metadata.name)
      .sort();
    expect(crds).toEqual([
      'adoptedservers.metal.sidero.dev',
      'environments.metal.sidero.dev',
      'kubernetesclusters.vitistack.io',
      'machines.vitistack.io',
      'serverclasses.metal.sidero.dev',
      'servers.metal.sidero.dev',
    ]);
  });

  it('cert-manager: the same flags as the default variant', () => {
    expect(serverOptions(out.certManager!)).toEqual(serverOptions(out.embedded!));
  });
});

describe('default variant: embedded store', () => {
  it('runs one replica in a StatefulSet with a PersistentVolumeClaim template for the data dir', () => {
    const sts = one(out.embedded!, 'StatefulSet', SVC, NS);
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.serviceName).toBe(SVC);
    const claims = sts.spec.volumeClaimTemplates as Obj[];
    expect(claims).toHaveLength(1);
    expect(claims[0]!.metadata.name).toBe('data');
    expect(claims[0]!.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(bytes(claims[0]!.spec.resources.requests.storage)).toBeGreaterThanOrEqual(1024 ** 3);
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    const c = apiserverContainer(sts);
    expect(mountFor(c, DATA_DIR).name).toBe('data');
    expect(volume(sts, 'data'), 'data comes from the claim template, not a pod volume').toBeUndefined();
    expect(all(out.embedded!, 'Deployment')).toEqual([]);
    expect(all(out.embedded!, 'PodDisruptionBudget'), 'a PDB on one replica would block drains').toEqual([]);
  });

  it('uses the embedded store: no etcd flags, no etcd Secret', () => {
    const c = checkPod(out.embedded!, tlsSecret(out.embedded!).metadata.name);
    const args = c.args as string[];
    expect(flag(args, '--storage-backend')).toBe('embedded');
    expect(args.filter((a) => a.startsWith('--etcd'))).toEqual([]);
    expect(JSON.stringify(out.embedded)).not.toContain('talos-fleet-etcd');
  });

  it('mounts the generated serving certificate from a kubernetes.io/tls Secret without the CA key', () => {
    const s = tlsSecret(out.embedded!);
    expect(s.type).toBe('kubernetes.io/tls');
    expect(Object.keys(s.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    const decoded = (k: string) => Buffer.from(s.data[k], 'base64').toString();
    expect(decoded('tls.crt')).toBe(readFileSync(join(certs, 'tls.crt'), 'utf8'));
    expect(decoded('tls.key')).toBe(readFileSync(join(certs, 'tls.key'), 'utf8'));
    expect(decoded('ca.crt')).toBe(caPem);
  });
});

/** the one Secret of the generated certificate (its name carries a content hash) */
function tlsSecret(objs: Obj[]): Obj {
  const s = all(objs, 'Secret');
  expect(s).toHaveLength(1);
  expect(s[0]!.metadata.name).toMatch(new RegExp(`^${SVC}-tls-[a-z0-9]{10}$`));
  expect(s[0]!.metadata.namespace).toBe(NS);
  return s[0]!;
}

describe('etcd variant', () => {
  it('runs two replicas in a Deployment, spread over nodes, with no volume claims', () => {
    const d = one(out.etcd!, 'Deployment', SVC, NS);
    expect(d.spec.replicas).toBe(2);
    expect(all(out.etcd!, 'StatefulSet')).toEqual([]);
    expect(all(out.etcd!, 'PersistentVolumeClaim')).toEqual([]);
    expect(d.spec.volumeClaimTemplates).toBeUndefined();
    const anti = d.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution as Obj[];
    expect(anti).toHaveLength(1);
    expect(anti[0]!.topologyKey).toBe('kubernetes.io/hostname');
    expect(d.spec.template.metadata.labels).toMatchObject(anti[0]!.labelSelector.matchLabels);
    const c = apiserverContainer(d);
    expect(volume(d, mountFor(c, DATA_DIR).name)?.emptyDir, 'the data dir is scratch').toBeDefined();
  });

  it('has a PodDisruptionBudget with minAvailable 1 over the pods', () => {
    const pdb = one(out.etcd!, 'PodDisruptionBudget', SVC, NS);
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.maxUnavailable).toBeUndefined();
    const d = one(out.etcd!, 'Deployment', SVC, NS);
    expect(d.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
  });

  it('passes the etcd3 backend, the endpoints from a ConfigMap and the client certificate from a Secret', () => {
    const c = checkPod(out.etcd!, tlsSecret(out.etcd!).metadata.name);
    const d = one(out.etcd!, 'Deployment', SVC, NS);
    const args = c.args as string[];
    expect(flag(args, '--storage-backend')).toBe('etcd3');
    expect(flag(args, '--etcd-servers')).toBe('$(ETCD_SERVERS)');
    const env = (c.env as Obj[]).find((e) => e.name === 'ETCD_SERVERS');
    const ref = env?.valueFrom?.configMapKeyRef;
    const cm = one(out.etcd!, 'ConfigMap', ref.name, NS);
    expect(cm.metadata.name).toMatch(/^talos-fleet-etcd-[a-z0-9]{10}$/);
    for (const url of String(cm.data[ref.key]).split(',')) expect(url).toMatch(/^https:\/\/[^,\s]+:\d+$/);
    const files = ['--etcd-cafile', '--etcd-certfile', '--etcd-keyfile'].map((f) => flag(args, f) as string);
    expect(files.map((f) => basename(f))).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    const m = mountFor(c, dirname(files[0]!));
    expect(files.every((f) => dirname(f) === m.mountPath)).toBe(true);
    expect(m.readOnly).toBe(true);
    expect(volume(d, m.name)?.secret).toEqual({ secretName: 'talos-fleet-etcd-client', defaultMode: 0o440 });
    expect(flag(args, '--etcd-prefix'), "a prefix of its own, away from kube-apiserver's /registry").toBe(
      '/talos-fleet',
    );
  });
});

describe('Service', () => {
  it('exposes port 443 named https onto the container port named https (8443) of the workload', () => {
    for (const v of ['embedded', 'etcd', 'certManager', 'crdWebhooks']) {
      const s = one(out[v]!, 'Service', SVC, NS);
      expect(s.spec.type).toBe('ClusterIP');
      expect(s.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
      const w = workload(out[v]!);
      expect(w.spec.template.metadata.labels).toMatchObject(s.spec.selector);
      expect(apiserverContainer(w).ports.find((p: Obj) => p.name === 'https').containerPort).toBe(8443);
    }
  });
});

describe('RBAC', () => {
  const sa = [{ kind: 'ServiceAccount', name: SVC, namespace: NS }];

  it('has the ServiceAccount the workloads run as', () => {
    expect(one(out.embedded!, 'ServiceAccount', SVC, NS).automountServiceAccountToken).toBe(true);
  });

  it('binds the ServiceAccount to system:auth-delegator and, in kube-system, extension-apiserver-authentication-reader', () => {
    const crbs = all(out.embedded!, 'ClusterRoleBinding').filter((b) => b.roleRef.name === 'system:auth-delegator');
    expect(crbs).toHaveLength(1);
    expect(crbs[0]!.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'system:auth-delegator',
    });
    expect(crbs[0]!.subjects).toEqual(sa);
    const rbs = all(out.embedded!, 'RoleBinding');
    expect(rbs).toHaveLength(1);
    expect(rbs[0]!.metadata.namespace).toBe('kube-system');
    expect(rbs[0]!.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'extension-apiserver-authentication-reader',
    });
    expect(rbs[0]!.subjects).toEqual(sa);
  });

  it('gives the server exactly namespaces (read), secrets (read/write) and events (create/patch)', () => {
    const role = one(out.embedded!, 'ClusterRole', SVC);
    expect(triples(role.rules)).toEqual(
      expected({
        '': {
          namespaces: ['get', 'list', 'watch'],
          secrets: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
          events: ['create', 'patch'],
        },
      }),
    );
    const crbs = all(out.embedded!, 'ClusterRoleBinding').filter((b) => b.roleRef.name === SVC);
    expect(crbs).toHaveLength(1);
    expect(crbs[0]!.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: SVC });
    expect(crbs[0]!.subjects).toEqual(sa);
  });

  it('aggregates view, edit and admin roles with exactly their verbs on our resources', () => {
    const cases = [
      ['talos-fleet-view', 'view', VIEW],
      ['talos-fleet-edit', 'edit', EDIT],
      ['talos-fleet-admin', 'admin', ADMIN],
    ] as const;
    for (const [name, builtin, rules] of cases) {
      const role = one(out.embedded!, 'ClusterRole', name);
      const aggregate = Object.keys(role.metadata.labels).filter((l) =>
        l.startsWith('rbac.authorization.k8s.io/aggregate-to-'),
      );
      expect(aggregate, name).toEqual([`rbac.authorization.k8s.io/aggregate-to-${builtin}`]);
      expect(role.metadata.labels[aggregate[0]!]).toBe('true');
      expect(triples(role.rules), name).toEqual(expected(rules));
    }
  });

  it('keeps the secret-material subresources out of view and edit, and grants them in admin (get only)', () => {
    const grants = (name: string) => triples(one(out.embedded!, 'ClusterRole', name).rules);
    for (const name of ['talos-fleet-view', 'talos-fleet-edit']) {
      for (const sub of SECRET_SUBRESOURCES)
        expect(
          grants(name).filter((t) => t.startsWith(`${sub}|`)),
          `${name}: ${sub}`,
        ).toEqual([]);
      expect(
        grants(name).some((t) => t.includes('*')),
        `${name} has no wildcards`,
      ).toBe(false);
    }
    for (const sub of SECRET_SUBRESOURCES)
      expect(grants('talos-fleet-admin').filter((t) => t.startsWith(`${sub}|`))).toEqual([`${sub}|get`]);
    expect(grants('talos-fleet-view').filter((t) => t.endsWith('/upgrade|create'))).toEqual([]);
  });

  it('offers a role for scraping /metrics', () => {
    expect(one(out.embedded!, 'ClusterRole', 'talos-fleet-metrics-reader').rules).toEqual([
      { nonResourceURLs: ['/metrics'], verbs: ['get'] },
    ]);
  });
});

describe('APIServices', () => {
  function checkAPIServices(objs: Obj[]): Obj[] {
    const svcs = all(objs, 'APIService');
    expect(svcs.map((a) => a.metadata.name).sort()).toEqual(['v1alpha1.vitistack.io', 'v1alpha2.metal.sidero.dev']);
    const service = one(objs, 'Service', SVC, NS);
    for (const a of svcs) {
      const [version, ...group] = a.metadata.name.split('.');
      expect(a.spec).toMatchObject({
        group: group.join('.'),
        version,
        groupPriorityMinimum: 1000,
        versionPriority: 15,
      });
      expect(GROUPS[a.spec.group as keyof typeof GROUPS]).toBe(a.spec.version);
      expect(a.spec.service).toEqual({ name: SVC, namespace: NS, port: 443 });
      expect(service.spec.ports.map((p: Obj) => p.port)).toContain(a.spec.service.port);
      expect(a.spec.insecureSkipTLSVerify).toBeUndefined();
    }
    return svcs;
  }

  it('one per group-version, on the Service, with the generated CA as caBundle', () => {
    for (const v of ['embedded', 'etcd']) {
      for (const a of checkAPIServices(out[v]!)) {
        expect(Buffer.from(a.spec.caBundle, 'base64').toString(), `${v}: ${a.metadata.name}`).toBe(caPem);
        expect(a.metadata.annotations).toBeUndefined();
      }
    }
  });

  it('with cert-manager: an inject-ca-from annotation naming the serving Certificate, no caBundle', () => {
    for (const a of checkAPIServices(out.certManager!)) {
      expect(a.spec.caBundle).toBeUndefined();
      expect(a.metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': `${NS}/${SVC}` });
    }
  });
});

describe('cert-manager variant', () => {
  it('issues the serving certificate from a CA of a self-signed Issuer into the Secret the pod mounts', () => {
    const objs = out.certManager!;
    expect(all(objs, 'Secret'), 'cert-manager writes the Secret, kustomize does not').toEqual([]);
    const selfSigned = all(objs, 'Issuer').find((i) => i.spec.selfSigned);
    expect(selfSigned).toBeDefined();
    const caCert = all(objs, 'Certificate').find((c) => c.spec.isCA);
    expect(caCert?.spec.issuerRef).toMatchObject({ kind: 'Issuer', name: selfSigned!.metadata.name });
    const caIssuer = all(objs, 'Issuer').find((i) => i.spec.ca?.secretName === caCert!.spec.secretName);
    expect(caIssuer).toBeDefined();
    const serving = one(objs, 'Certificate', SVC, NS);
    expect(serving.spec.isCA).toBeUndefined();
    expect(serving.spec.issuerRef).toMatchObject({ kind: 'Issuer', name: caIssuer!.metadata.name });
    expect(serving.spec.dnsNames).toEqual(SANS);
    expect(serving.spec.usages).toContain('server auth');
    checkPod(objs, serving.spec.secretName);
    expect(serving.spec.secretName).toBe(`${SVC}-tls`);
  });
});

describe('admission webhooks', () => {
  const kinds = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];

  it('are not in the aggregated variants', () => {
    for (const v of ['embedded', 'etcd', 'certManager'])
      for (const k of kinds) expect(all(out[v]!, k), `${v}: ${k}`).toEqual([]);
  });

  it('the crd-webhooks variant has both configurations and no APIService', () => {
    const objs = out.crdWebhooks!;
    expect(all(objs, 'APIService')).toEqual([]);
    for (const [kind, path] of [
      ['MutatingWebhookConfiguration', '/webhooks/mutate'],
      ['ValidatingWebhookConfiguration', '/webhooks/validate'],
    ] as const) {
      const cfg = one(objs, kind, SVC);
      expect(cfg.webhooks).toHaveLength(1);
      const w = cfg.webhooks[0];
      expect(w.clientConfig.service).toEqual({ name: SVC, namespace: NS, path, port: 443 });
      expect(Buffer.from(w.clientConfig.caBundle, 'base64').toString()).toBe(caPem);
      expect(w).toMatchObject({
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        failurePolicy: 'Fail',
        matchPolicy: 'Equivalent',
      });
      expect(w.timeoutSeconds).toBeLessThanOrEqual(30);
      const rules = (w.rules as Obj[]).map((r) => ({
        ...r,
        resources: [...r.resources].sort(),
        operations: [...r.operations].sort(),
      }));
      expect(rules).toEqual(
        Object.entries(GROUPS).map(([g, v]) => ({
          apiGroups: [g],
          apiVersions: [v],
          resources: [...RESOURCES[g]!].sort(),
          operations: ['CREATE', 'UPDATE'],
          scope: '*',
        })),
      );
      expect(w.matchConditions).toEqual([
        {
          name: 'not-being-deleted',
          expression: "request.operation == 'CREATE' || !has(object.metadata.deletionTimestamp)",
        },
      ]);
    }
  });

  it('the crd-webhooks server runs the same hardened pod as the default variant', () => {
    checkPod(out.crdWebhooks!, tlsSecret(out.crdWebhooks!).metadata.name);
  });

  it('with cert-manager (webhooks listed first): annotations instead of caBundle', async () => {
    const dir = join(tmp, 'overlays/webhooks-cert-manager');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources: [../../manifests/base, ../../manifests/workloads/embedded]',
        'components: [../../manifests/components/webhooks, ../../manifests/components/cert-manager]',
        '',
      ].join('\n'),
    );
    const objs = await kustomize(dir);
    for (const k of kinds) {
      const cfg = one(objs, k, SVC);
      expect(cfg.metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': `${NS}/${SVC}` });
      expect(cfg.webhooks[0].clientConfig.caBundle).toBeUndefined();
    }
  });
});

describe('customising in an overlay of your own', () => {
  it('the image is replaced with kustomize images:', async () => {
    const dir = join(tmp, 'overlays/image');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources: [../../manifests]',
        'images:',
        '  - name: ghcr.io/talos-fleet/apiserver',
        '    newName: registry.example.com/fleet/apiserver',
        '    newTag: 9.9.9',
        '',
      ].join('\n'),
    );
    expect(apiserverContainer(workload(await kustomize(dir))).image).toBe('registry.example.com/fleet/apiserver:9.9.9');
  });

  it('the etcd endpoints are replaced as the etcd kustomization documents', async () => {
    const dir = join(tmp, 'overlays/etcd-endpoints');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources: [../../manifests/overlays/etcd]',
        'configMapGenerator:',
        '  - name: talos-fleet-etcd',
        '    namespace: talos-fleet-system',
        '    behavior: replace',
        '    literals: ["servers=https://10.0.0.1:2379,https://10.0.0.2:2379"]',
        '',
      ].join('\n'),
    );
    const objs = await kustomize(dir);
    const ref = (apiserverContainer(workload(objs)).env as Obj[]).find((e) => e.name === 'ETCD_SERVERS')?.valueFrom
      .configMapKeyRef;
    expect(one(objs, 'ConfigMap', ref.name, NS).data[ref.key]).toBe('https://10.0.0.1:2379,https://10.0.0.2:2379');
    expect(ref.name).not.toBe(all(out.etcd!, 'ConfigMap')[0]!.metadata.name);
  });
});
