// A CNI Talos does not know by name (cilium, calico, ...) is refused with the names Talos accepts
// and how to run that CNI all the same, by the generator's inputs and by the config validator.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigInputError,
  TALOS_CNI_NAMES,
  resolveConfigInputs,
  unsupportedCniReason,
} from '../../../src/machineconfig/generate/inputs.js';
import { expectProblem, makeSecrets, problemsAfter, type FixtureSecrets } from './validate/fixtures.js';

const BASE = { clusterName: 'c', endpoint: 'https://10.0.0.1:6443' };

function inputError(name: string): ConfigInputError {
  try {
    resolveConfigInputs({ ...BASE, network: { cni: { name } } });
  } catch (e) {
    if (e instanceof ConfigInputError) return e;
    throw e;
  }
  throw new Error(`${name} was accepted`);
}

describe('generator inputs', () => {
  it('accept exactly the names Talos deploys', () => {
    expect(TALOS_CNI_NAMES).toEqual(['flannel', 'custom', 'none']);
    expect(resolveConfigInputs({ ...BASE, network: { cni: { name: 'none' } } }).cni).toEqual({ name: 'none' });
    expect(resolveConfigInputs({ ...BASE, network: { cni: { name: 'flannel' } } }).cni).toEqual({ name: 'flannel' });
  });

  it('refuse another name as NotSupported, saying how to run it: none and install it, or custom with URLs', () => {
    const e = inputError('cilium');
    expect(e.field).toBe('network.cni.name');
    expect(e.type).toBe('notSupported');
    expect(e.message).toBe(
      'network.cni.name: Unsupported value: "cilium": supported values: "flannel", "custom", "none": Talos ' +
        'deploys flannel itself and no other CNI by name; to run cilium, use "none" and install it yourself once ' +
        'the cluster is up, or "custom" with the URLs of its manifests, which Talos applies at bootstrap',
    );
    // a caller with a field for the URLs names it; a garbage name is cut to a readable length
    expect(unsupportedCniReason('calico', 'spec.talos.network.cniURLs')).toContain(
      '"custom" with the URLs of its manifests in spec.talos.network.cniURLs,',
    );
    expect(unsupportedCniReason('x'.repeat(5000)).length).toBeLessThan(600);
  });

  it('a custom CNI without URLs is a required value, not a URL error', () => {
    for (const urls of [undefined, []]) {
      let err: unknown;
      try {
        resolveConfigInputs({ ...BASE, network: { cni: { name: 'custom', ...(urls ? { urls } : {}) } } });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigInputError);
      expect((err as ConfigInputError).type).toBe('required');
      expect((err as ConfigInputError).message).toMatch(
        /^network\.cni\.urls: Required value: a custom CNI is deployed/,
      );
    }
  });
});

describe('the config validator', () => {
  let s: FixtureSecrets;
  beforeAll(async () => {
    s = await makeSecrets();
  });

  it('names the accepted CNIs and how to run an unknown one', () => {
    const problems = problemsAfter(s, '1.13', 'controlplane', (d) => {
      d[0].cluster.network.cni = { name: 'cilium' };
    });
    expectProblem(
      problems,
      'cluster.network.cni.name',
      'must be one of: flannel, custom, none; to run "cilium", use none and install it yourself once the cluster is up, or custom with the URLs of its manifests in cluster.network.cni.urls',
    );
  });
});
