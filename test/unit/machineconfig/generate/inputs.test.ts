// Generator inputs: the Talos version map, `gen config`'s inputs and defaults, the endpoint rules.
import { describe, expect, it } from 'vitest';
import {
  ConfigInputError,
  resolveConfigInputs,
  resolveKubernetesVersion,
  resolveTalosVersion,
  type ConfigInputs,
} from '../../../../src/machineconfig/generate/inputs.js';
import { talosLine, type TalosLine } from '../../../../src/machineconfig/generate/versions.js';

const BASE: ConfigInputs = { clusterName: 'c1', endpoint: 'https://10.5.0.2:6443' };
const line = (minor: number): TalosLine => {
  const l = talosLine(minor);
  if (!l) throw new Error(`no line 1.${minor}`);
  return l;
};

function inputError(inputs: Partial<ConfigInputs>): ConfigInputError {
  try {
    resolveConfigInputs({ ...BASE, ...inputs });
  } catch (e) {
    if (e instanceof ConfigInputError) return e;
    throw e;
  }
  throw new Error('expected the inputs to be refused');
}

describe('resolveTalosVersion', () => {
  it('defaults to the newest stable tag and resolves a minor to its newest tag', () => {
    expect(resolveTalosVersion().tag).toBe('v1.13.9');
    expect(resolveTalosVersion('1.13').tag).toBe('v1.13.9');
    expect(resolveTalosVersion('v1.8').tag).toBe('v1.8.4');
    expect(resolveTalosVersion('1.14').tag).toBe('v1.14.0-rc.1');
  });

  it('keeps a full version, adding the v', () => {
    expect(resolveTalosVersion('1.12.3').tag).toBe('v1.12.3');
    expect(resolveTalosVersion('v1.14.0-beta.1').tag).toBe('v1.14.0-beta.1');
  });

  it('refuses lines without a tag and text that is no version', () => {
    expect(() => resolveTalosVersion('1.7')).toThrow(
      /Talos 1\.7 is not a supported target \(supported: 1\.8, .*1\.14\)/,
    );
    expect(() => resolveTalosVersion('1.15')).toThrow(ConfigInputError);
    expect(() => resolveTalosVersion('latest')).toThrow(/not a Talos version/);
  });
});

describe('resolveKubernetesVersion', () => {
  it('uses the line default when none is given', () => {
    expect(resolveKubernetesVersion(undefined, line(8))).toBe('1.31.4');
    expect(resolveKubernetesVersion(undefined, line(13))).toBe('1.36.3');
    expect(resolveKubernetesVersion(undefined, line(14))).toBe('1.37.0-rc.0');
  });

  it('resolves a minor to the newest patch the version map knows, else .0', () => {
    expect(resolveKubernetesVersion('1.33', line(13))).toBe('1.33.6');
    expect(resolveKubernetesVersion('v1.34', line(12))).toBe('1.34.1');
    // 1.37 is the default of 1.14 (rc.0) and of main (rc.1): the newer wins
    expect(resolveKubernetesVersion('1.37', line(14))).toBe('1.37.0-rc.1');
    // no Talos line defaults to 1.30
    expect(resolveKubernetesVersion('1.30', line(12))).toBe('1.30.0');
  });

  it('strips a leading v from a full version', () => {
    expect(resolveKubernetesVersion('v1.33.6', line(11))).toBe('1.33.6');
    expect(resolveKubernetesVersion('1.32.1', line(11))).toBe('1.32.1');
  });

  it("refuses versions outside the target line's range and malformed ones", () => {
    expect(() => resolveKubernetesVersion('1.35', line(11))).toThrow(
      /Kubernetes 1\.35\.4 is outside 1\.29 – 1\.34, the range Talos 1\.11 accepts/,
    );
    expect(() => resolveKubernetesVersion('1.25.0', line(8))).toThrow(ConfigInputError);
    expect(() => resolveKubernetesVersion('1.33.x', line(13))).toThrow(/not a Kubernetes version/);
  });
});

describe('resolveConfigInputs', () => {
  it('applies the gen config defaults', () => {
    const r = resolveConfigInputs(BASE);
    expect(r).toMatchObject({
      talosVersion: 'v1.13.9',
      contract: { major: 1, minor: 13 },
      kubernetesVersion: '1.36.3',
      installDisk: '/dev/sda',
      installImage: 'ghcr.io/siderolabs/installer:v1.13.9',
      certSANs: [],
      podSubnets: ['10.244.0.0/16'],
      serviceSubnets: ['10.96.0.0/12'],
      cni: { name: 'flannel' },
      dnsDomain: 'cluster.local',
      endpointHost: '10.5.0.2',
      allowSchedulingOnControlPlanes: false,
    });
    expect(resolveConfigInputs({ ...BASE, talosVersion: 'v1.14.0-rc.1' }).installImage).toMatch(
      /^factory\.talos\.dev\/metal-installer\/[0-9a-f]{64}:v1\.14\.0-rc\.1$/,
    );
  });

  it('takes the endpoint host as written, IPv6 without brackets', () => {
    expect(resolveConfigInputs({ ...BASE, endpoint: 'https://[fd00::10]:6443' }).endpointHost).toBe('fd00::10');
    expect(resolveConfigInputs({ ...BASE, endpoint: 'https://API.Example.com' }).endpointHost).toBe('API.Example.com');
  });

  it('refuses endpoints that are not https://host[:port]', () => {
    expect(inputError({ endpoint: 'http://10.5.0.2:6443' }).field).toBe('endpoint');
    expect(inputError({ endpoint: 'https://10.5.0.2:6443/api' }).reason).toMatch(/path/);
    expect(inputError({ endpoint: 'https://10.5.0.2:99999' }).reason).toMatch(/not a valid URL/);
    expect(inputError({ endpoint: '10.5.0.2:6443' }).reason).toMatch(/https/);
  });

  it('sorts labels and taints by key and checks their syntax', () => {
    const r = resolveConfigInputs({
      ...BASE,
      nodeLabels: { zone: 'a', 'app.example.com/tier': 'edge' },
      nodeTaints: { gpu: 'true:NoSchedule', spot: 'NoExecute' },
    });
    expect(r.nodeLabels).toEqual([
      ['app.example.com/tier', 'edge'],
      ['zone', 'a'],
    ]);
    expect(r.nodeTaints).toEqual([
      ['gpu', 'true:NoSchedule'],
      ['spot', 'NoExecute'],
    ]);
    expect(inputError({ nodeTaints: { gpu: 'true:Sometimes' } }).field).toBe('nodeTaints[gpu]');
    expect(inputError({ nodeLabels: { 'bad key': 'x' } }).field).toBe('nodeLabels[bad key]');
    expect(inputError({ nodeLabels: { ok: 'not ok!' } }).field).toBe('nodeLabels[ok]');
  });

  it('checks networks, the DNS domain, CNI URLs and tokens', () => {
    expect(inputError({ network: { podSubnets: ['10.244.0.0'] } }).field).toBe('network.podSubnets[0]');
    expect(inputError({ network: { serviceSubnets: [] } }).field).toBe('network.serviceSubnets');
    expect(inputError({ network: { cni: { name: 'custom', urls: ['ftp://x/cni.yaml'] } } }).field).toBe(
      'network.cni.urls[0]',
    );
    expect(inputError({ dnsDomain: 'not_a_domain' }).field).toBe('dnsDomain');
    expect(inputError({ clusterName: '' }).field).toBe('clusterName');
    expect(inputError({ installDisk: '/dev/disk with space' }).field).toBe('installDisk');
    expect(resolveConfigInputs({ ...BASE, network: { podSubnets: ['fd00:10::/56'] } }).podSubnets).toEqual([
      'fd00:10::/56',
    ]);
  });

  it('checks types too, since inputs may come from untyped JSON', () => {
    expect(inputError({ clusterName: 5 as unknown as string }).reason).toBe('must be a string');
    expect(inputError({ certSANs: 'a.example' as unknown as string[] }).field).toBe('certSANs');
    expect(
      inputError({ network: { cni: { name: 'custom' } as unknown as { name: 'custom'; urls: string[] } } }).field,
    ).toBe('network.cni.urls');
    const none = { name: 'none', urls: ['https://ignored.example'] } as unknown as { name: 'none' };
    expect(resolveConfigInputs({ ...BASE, network: { cni: none } }).cni).toEqual({ name: 'none' });
  });
});
