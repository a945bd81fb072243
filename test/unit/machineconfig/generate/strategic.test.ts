// Talos strategic merge config patches: documents matched by apiVersion + kind (+ name),
// maps merged by key, Talos's list rules, zero values, `$patch: delete`, errors naming patch and path.
import { beforeAll, describe, expect, it } from 'vitest';
import type { SecretsBundle } from '../../../../src/machineconfig/bundle.js';
import { generateMachineConfig } from '../../../../src/machineconfig/generate/generate.js';
import { applyPatches, type Patch } from '../../../../src/machineconfig/patch/apply.js';
import { fixtureBundle, GOLDEN_INPUTS, patchError, type Plain, yamlDocuments } from './fixtures.js';

let bundle: SecretsBundle;
beforeAll(async () => {
  bundle = await fixtureBundle();
});

const config = (talosVersion: string, role: 'controlplane' | 'worker' = 'controlplane') =>
  generateMachineConfig(role, { ...GOLDEN_INPUTS, talosVersion }, bundle);
const documents = yamlDocuments;
/** applies strategic patches given as YAML texts, named p0, p1, ... */
const patch = (yaml: string, ...texts: string[]) =>
  applyPatches(
    yaml,
    texts.map((strategic, i) => ({ name: `p${i}`, strategic })),
  );
const v1alpha1 = (yaml: string): Plain => documents(yaml)[0] as Plain;

describe('applyPatches without patches', () => {
  it('returns every generated config unchanged', () => {
    for (const contract of ['1.8', '1.11', '1.12', '1.13', '1.14']) {
      for (const role of ['controlplane', 'worker'] as const)
        expect(applyPatches(config(contract, role), [])).toBe(config(contract, role));
    }
  });
});

describe('merging into the v1alpha1 document', () => {
  it('merges maps by key and writes new sections in struct order', () => {
    const out = v1alpha1(
      patch(config('1.13'), 'machine:\n  install:\n    disk: /dev/nvme0n1\n  network:\n    hostname: cp-1\n'),
    );
    expect(out.machine.install).toEqual({
      disk: '/dev/nvme0n1',
      image: 'ghcr.io/siderolabs/installer:v1.13.9',
      wipe: false,
      grubUseUKICmdline: true,
    });
    expect(out.machine.network).toEqual({ hostname: 'cp-1' });
    const keys = Object.keys(out.machine);
    expect(keys.indexOf('network')).toBe(keys.indexOf('kubelet') + 1);
  });

  it('keeps a value the patch sets to its zero value, but always takes booleans', () => {
    const out = v1alpha1(
      patch(
        config('1.13'),
        'machine:\n  install:\n    disk: ""\n    wipe: true\ncluster:\n  discovery:\n    enabled: false\n',
      ),
    );
    expect(out.machine.install.disk).toBe('/dev/sda');
    expect(out.machine.install.wipe).toBe(true);
    expect(out.cluster.discovery.enabled).toBe(false);
  });

  it('appends to lists, but replaces the pod and service subnets', () => {
    const out = v1alpha1(
      patch(
        config('1.13'),
        'machine:\n  certSANs: [a.example]\n',
        'machine:\n  certSANs: [b.example]\ncluster:\n  network:\n    podSubnets: [10.10.0.0/16]\n    serviceSubnets: [10.20.0.0/16]\n',
      ),
    );
    expect(out.machine.certSANs).toEqual(['a.example', 'b.example']);
    expect(out.cluster.network.podSubnets).toEqual(['10.10.0.0/16']);
    expect(out.cluster.network.serviceSubnets).toEqual(['10.20.0.0/16']);
  });

  it('replaces the audit policy whole instead of merging it', () => {
    const out = v1alpha1(
      patch(
        config('1.13'),
        'cluster:\n  apiServer:\n    auditPolicy:\n      apiVersion: audit.k8s.io/v1\n      kind: Policy\n      rules:\n        - level: None\n',
      ),
    );
    expect(out.cluster.apiServer.auditPolicy.rules).toEqual([{ level: 'None' }]);
  });

  it('merges admission plugins by name, interfaces by name or selector, VLANs by id', () => {
    const yaml = patch(
      config('1.13'),
      'cluster:\n  apiServer:\n    admissionControl:\n      - name: PodSecurity\n        configuration:\n          defaults:\n            enforce: restricted\n',
      'machine:\n  network:\n    interfaces:\n      - interface: eth0\n        dhcp: true\n        vlans:\n          - vlanId: 10\n            mtu: 1500\n      - deviceSelector: {busPath: "0*"}\n        mtu: 1500\n',
      'machine:\n  network:\n    interfaces:\n      - interface: eth0\n        mtu: 9000\n        vlans:\n          - vlanId: 10\n            dhcp: true\n          - vlanId: 20\n      - deviceSelector: {busPath: "0*"}\n        dhcp: true\n',
    );
    const out = v1alpha1(yaml);
    expect(out.cluster.apiServer.admissionControl).toHaveLength(1);
    expect(out.cluster.apiServer.admissionControl[0].configuration.defaults).toMatchObject({
      enforce: 'restricted',
      audit: 'restricted',
      warn: 'restricted',
    });
    expect(out.machine.network.interfaces).toEqual([
      { interface: 'eth0', dhcp: true, mtu: 9000, vlans: [{ vlanId: 10, mtu: 1500, dhcp: true }, { vlanId: 20 }] },
      { deviceSelector: { busPath: '0*' }, mtu: 1500, dhcp: true },
    ]);
  });

  it('overlays extraArgs flag by flag, a list value replacing a string', () => {
    const out = v1alpha1(
      patch(
        config('1.13'),
        'cluster:\n  apiServer:\n    extraArgs:\n      feature-gates: A=true\n      v: "2"\n',
        'cluster:\n  apiServer:\n    extraArgs:\n      feature-gates: [A=true, B=true]\n',
      ),
    );
    expect(out.cluster.apiServer.extraArgs).toEqual({ 'feature-gates': ['A=true', 'B=true'], v: '2' });
  });

  it('sets every entry of a string map, an empty label value included', () => {
    const out = v1alpha1(
      patch(
        config('1.13', 'worker'),
        'machine:\n  nodeLabels:\n    node-role.kubernetes.io/infra: ""\n    zone: a\n',
        'machine:\n  nodeLabels:\n    zone: b\n',
      ),
    );
    expect(out.machine.nodeLabels).toEqual({ 'node-role.kubernetes.io/infra': '', zone: 'b' });
  });

  it('$patch: delete removes a section, a list item matched by its other keys, or a whole document', () => {
    const yaml = patch(
      config('1.12'),
      'machine:\n  network:\n    $patch: delete\ncluster:\n  apiServer:\n    admissionControl:\n      - name: PodSecurity\n        $patch: delete\n' +
        '---\napiVersion: v1alpha1\nkind: HostnameConfig\n$patch: delete\n',
    );
    const docs = documents(yaml);
    expect(docs).toHaveLength(1);
    expect(docs[0]?.machine).not.toHaveProperty('network');
    expect(docs[0]?.cluster.apiServer.admissionControl).toEqual([]);
  });
});

describe('documents', () => {
  it('a patch document with a new identity is appended, one with a known identity is merged', () => {
    const yaml = patch(
      config('1.14'),
      'apiVersion: v1alpha1\nkind: VolumeConfig\nname: EPHEMERAL\nprovisioning:\n  maxSize: 40GiB\n' +
        '---\nkind: RegistryMirrorConfig\nname: docker.io\napiVersion: v1alpha1\nendpoints:\n  - url: https://mirror.example\n' +
        '---\nmachine:\n  certSANs: [cp.example]\n',
    );
    const docs = documents(yaml);
    const volume = docs.filter((d) => d.kind === 'VolumeConfig');
    expect(volume).toEqual([
      {
        apiVersion: 'v1alpha1',
        kind: 'VolumeConfig',
        name: 'EPHEMERAL',
        mount: { secure: true },
        provisioning: { maxSize: '40GiB' },
      },
    ]);
    expect(docs[docs.length - 1]).toEqual({
      apiVersion: 'v1alpha1',
      kind: 'RegistryMirrorConfig',
      name: 'docker.io',
      endpoints: [{ url: 'https://mirror.example' }],
    });
    expect(Object.keys(docs[docs.length - 1] as Plain).slice(0, 3)).toEqual(['apiVersion', 'kind', 'name']);
    expect(docs[0]?.machine.certSANs).toEqual(['cp.example']);
  });

  it('the same kind under another name is another document', () => {
    const docs = documents(
      patch(
        config('1.14', 'worker'),
        'apiVersion: v1alpha1\nkind: VolumeConfig\nname: IMAGECACHE\nprovisioning:\n  maxSize: 10GiB\n',
      ),
    );
    expect(docs.filter((d) => d.kind === 'VolumeConfig').map((d) => d.name)).toEqual(['EPHEMERAL', 'IMAGECACHE']);
  });

  it('merges into the 1.14 Kubernetes documents, replacing subnets there too', () => {
    const docs = documents(
      patch(config('1.14'), 'apiVersion: v1alpha1\nkind: KubeNetworkConfig\npodSubnets: [10.10.0.0/16]\n'),
    );
    expect(docs.find((d) => d.kind === 'KubeNetworkConfig')?.podSubnets).toEqual(['10.10.0.0/16']);
  });

  it('replaces the 1.14 audit policy whole, and overlays node labels there entry by entry', () => {
    const docs = documents(
      patch(
        config('1.14'),
        'apiVersion: v1alpha1\nkind: KubeAuditPolicyConfig\nconfiguration:\n  apiVersion: audit.k8s.io/v1\n' +
          '  kind: Policy\n  rules:\n    - level: None\n',
        'apiVersion: v1alpha1\nkind: KubeNodeConfig\nlabels:\n  node-role.kubernetes.io/infra: ""\n',
      ),
    );
    expect(docs.find((d) => d.kind === 'KubeAuditPolicyConfig')?.configuration.rules).toEqual([{ level: 'None' }]);
    expect(docs.find((d) => d.kind === 'KubeNodeConfig')?.labels).toEqual({
      'node-role.kubernetes.io/infra': '',
      'node.kubernetes.io/exclude-from-external-load-balancers': '',
    });
  });
});

describe('errors name the patch and the path', () => {
  it('a mapping merged into a scalar', () => {
    const e = patchError(config('1.13'), [
      { name: 'fine', strategic: 'machine:\n  install:\n    wipe: true\n' },
      { name: 'broken-install', strategic: 'machine:\n  install:\n    disk:\n      path: /dev/sdb\n' },
    ]);
    expect(e.patch).toBe('broken-install');
    expect(e.path).toBe('machine.install.disk');
    expect(e.message).toBe(
      'config patch "broken-install" failed at machine.install.disk: cannot merge a mapping into a string',
    );
  });

  it('inside a document other than v1alpha1, and inside a list', () => {
    expect(
      patchError(config('1.14'), [
        { name: 'vol', strategic: 'apiVersion: v1alpha1\nkind: VolumeConfig\nname: EPHEMERAL\nmount: yes-please\n' },
      ]).path,
    ).toBe('VolumeConfig[name=EPHEMERAL].mount');
    const e = patchError(config('1.13'), [
      { name: 'ac', strategic: 'cluster:\n  apiServer:\n    admissionControl:\n      - $patch: delete\n' },
    ]);
    expect([e.patch, e.path]).toEqual(['ac', 'cluster.apiServer.admissionControl[0]']);
  });

  it('unknown directives, documents without apiVersion, text that is not YAML, patches of no kind', () => {
    expect(
      patchError(config('1.13'), [{ name: 'd', strategic: 'machine:\n  install:\n    $patch: replace\n' }]).path,
    ).toBe('machine.install');
    expect(
      patchError(config('1.13'), [{ name: 'k', strategic: 'machine: {}\n---\nkind: HostnameConfig\nauto: stable\n' }])
        .path,
    ).toBe('documents[1]');
    const notYaml = patchError(config('1.13'), [{ name: 'y', strategic: 'machine: [unclosed\n' }]);
    expect([notYaml.patch, notYaml.path]).toEqual(['y', 'documents[0]']);
    expect(notYaml.reason).toMatch(/not valid YAML \(\w+ at line \d+, column \d+\)/);
    expect(patchError(config('1.13'), [{ name: 'neither' } as unknown as Patch]).reason).toBe(
      'a patch needs exactly one of jsonPatch and strategic',
    );
  });
});
