// kubernetesclusters/{name}/upgrade on a real embedded store with the admission chain: the request's
// target lands in the cluster's spec, a refused one is a 422 on the field and changes nothing, and a
// malformed request is refused before anything is written.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterInputsAdmission } from '../../../src/admission/machineconfig.js';
import { admissionChain } from '../../../src/admission/plugin.js';
import { upgradeTargetAdmission } from '../../../src/admission/upgradetarget.js';
import { allKinds, coreKinds, kubernetesClusterKind } from '../../../src/api/index.js';
import { StatusError } from '../../../src/machinery/errors.js';
import type { KubeObject } from '../../../src/machinery/kind.js';
import { APIRegistry } from '../../../src/machinery/registry/apis.js';
import { systemContext } from '../../../src/machinery/registry/context.js';
import type { SubresourceReply } from '../../../src/machinery/registry/subresource.js';
import { openEmbeddedStore } from '../../../src/storage/embedded/store.js';
import type { Storage } from '../../../src/storage/storage.js';
import { clusterUpgradeHandler } from '../../../src/subresources/clusterupgrade.js';

let dir: string;
let storage: Storage;
let registry: APIRegistry;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tfa-clusterupgrade-'));
  storage = await openEmbeddedStore(dir);
  registry = new APIRegistry([...coreKinds, ...allKinds], storage, {
    admission: admissionChain([upgradeTargetAdmission, clusterInputsAdmission]),
  });
});

afterAll(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

const store = () => registry.storeOf(kubernetesClusterKind)!;

async function createCluster(name: string): Promise<KubeObject> {
  const obj: KubeObject = {
    apiVersion: 'vitistack.io/v1alpha1',
    kind: 'KubernetesCluster',
    metadata: { name, namespace: 'ns' },
    spec: {
      data: {
        clusterUid: `${name}-uid`,
        clusterId: `${name}-id`,
        provider: 'talos',
        environment: 'dev',
        datacenter: 'dc',
        project: 'p',
        region: 'r',
        workorder: 'w',
        zone: 'z',
        workspace: 'ws',
      },
      topology: {
        version: '1.35.4',
        controlplane: { replicas: 1, version: '1.35.4' },
        workers: [
          { name: 'pool', replicas: 1, version: '1.35.4' },
          { name: 'pinned', replicas: 1, version: '1.34.1' },
        ],
      },
      talos: { endpoint: 'https://10.0.0.1:6443', version: 'v1.12.11' },
    },
  };
  return store().create('ns', { value: obj, duplicates: [] }, systemContext());
}

function post(parent: KubeObject, body: unknown, query = ''): Promise<SubresourceReply> {
  return clusterUpgradeHandler(registry).serve({
    parent,
    user: { name: 'alice', groups: ['system:masters'] },
    query: new URLSearchParams(query),
    body: { value: body, duplicates: [] },
    signal: new AbortController().signal,
  });
}

const request = (spec: Record<string, unknown>) => ({
  apiVersion: 'vitistack.io/v1alpha1',
  kind: 'UpgradeRequest',
  spec,
});

async function refusal(p: Promise<unknown>): Promise<StatusError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StatusError);
  return e as StatusError;
}

describe('kubernetesclusters/{name}/upgrade', () => {
  it('records the Talos and Kubernetes targets and the strategy in the spec, and answers 201 with them', async () => {
    const c = await createCluster('fwd');
    const reply = await post(c, request({ talosVersion: 'v1.13.9', kubernetesVersion: '1.36.3', maxUnavailable: 2 }));
    expect(reply).toMatchObject({ type: 'object', code: 201 });
    const answer = (reply as { object: any }).object;
    expect(answer.kind).toBe('UpgradeRequest');
    expect(answer.spec).toMatchObject({ talosVersion: 'v1.13.9', strategy: 'Rolling', allowDowngrade: false });
    expect(answer.status).toMatchObject({
      phase: 'Recorded',
      fromTalosVersion: 'v1.12.11',
      fromKubernetesVersion: '1.35.4',
    });
    const stored = (await store().get('ns', 'fwd')) as any;
    expect(answer.status.resourceVersion).toBe(stored.metadata.resourceVersion);
    expect(stored.spec.talos.version).toBe('v1.13.9');
    expect(stored.spec.topology.version).toBe('1.36.3');
    expect(stored.spec.topology.controlplane.version).toBe('1.36.3');
    expect(stored.spec.topology.workers.map((w: any) => w.version)).toEqual(['1.36.3', '1.34.1']);
    expect(stored.spec.upgradeStrategy).toEqual({ maxUnavailable: 2 });
    expect(stored.metadata.managedFields.some((m: any) => m.manager === 'upgrade-request')).toBe(true);

    // the same request again changes nothing and says so
    const again = await post(
      stored,
      request({ talosVersion: 'v1.13.9', kubernetesVersion: '1.36.3', maxUnavailable: 2 }),
    );
    expect(again).toMatchObject({ code: 200, object: { status: { phase: 'Unchanged' } } });
    expect(((await store().get('ns', 'fwd')) as any).metadata.resourceVersion).toBe(stored.metadata.resourceVersion);
  });

  it('with ?dryRun=All judges and answers as a real request but stores nothing; another dryRun value is refused as on any create', async () => {
    const c = await createCluster('dry');
    const reply = await post(c, request({ talosVersion: 'v1.13.9' }), 'dryRun=All');
    expect(reply).toMatchObject({ code: 201, object: { status: { phase: 'Recorded' } } });
    const stored = (await store().get('ns', 'dry')) as any;
    expect(stored.metadata.resourceVersion).toBe(c.metadata.resourceVersion);
    expect(stored.spec.talos.version).toBe('v1.12.11');
    const down = await refusal(post(c, request({ talosVersion: 'v1.12.2' }), 'dryRun=All'));
    expect(down.code).toBe(422);
    const bogus = await refusal(post(c, request({ talosVersion: 'v1.13.9' }), 'dryRun=Yes'));
    expect([bogus.code, bogus.reason]).toEqual([422, 'Invalid']); // as dryRun=Yes on any create
    expect(((await store().get('ns', 'dry')) as any).metadata.resourceVersion).toBe(c.metadata.resourceVersion);
  });

  it('refuses a downgrade without allowDowngrade with a 422 on the field, and nothing changes', async () => {
    const c = await createCluster('down');
    const e = await refusal(post(c, request({ talosVersion: 'v1.12.2' })));
    expect(e.code).toBe(422);
    expect(e.reason).toBe('Invalid');
    expect(e.details?.causes?.[0]).toMatchObject({ field: 'spec.talos.version', reason: 'FieldValueInvalid' });
    expect(e.message).toContain('a downgrade is refused unless allowDowngrade is set');
    const stored = (await store().get('ns', 'down')) as any;
    expect(stored.metadata.resourceVersion).toBe(c.metadata.resourceVersion);
    expect(stored.spec.talos.version).toBe('v1.12.11');
  });

  it('takes a downgrade with allowDowngrade, and a later request without it does not inherit it', async () => {
    const c = await createCluster('back');
    const reply = await post(c, request({ talosVersion: 'v1.12.2', allowDowngrade: true }));
    expect(reply.code).toBe(201);
    const stored = (await store().get('ns', 'back')) as any;
    expect(stored.spec.talos.version).toBe('v1.12.2');
    expect(stored.spec.upgradeStrategy).toEqual({ allowDowngrade: true });
    const e = await refusal(post(stored, request({ talosVersion: 'v1.12.1' })));
    expect(e.code).toBe(422);
    expect(((await store().get('ns', 'back')) as any).metadata.resourceVersion).toBe(stored.metadata.resourceVersion);
  });

  it('refuses a Kubernetes version the target Talos does not run, on the Kubernetes field', async () => {
    const c = await createCluster('k8s');
    const e = await refusal(post(c, request({ kubernetesVersion: '1.37.0' })));
    expect(e.code).toBe(422);
    expect(e.details?.causes?.map((x) => x.field)).toContain('spec.topology.version');
    expect(((await store().get('ns', 'k8s')) as any).metadata.resourceVersion).toBe(c.metadata.resourceVersion);
  });

  it('refuses a malformed request before writing: no target, an unknown field, a wrong kind, a bad value', async () => {
    const c = await createCluster('bad');
    const none = await refusal(post(c, request({ maxUnavailable: 1 })));
    expect(none).toMatchObject({ code: 422 });
    expect(none.details?.causes?.[0]?.field).toBe('spec.talosVersion');
    const unknown = await refusal(post(c, request({ talosVersion: 'v1.13.9', version: 'v1.13.9' })));
    expect(unknown.code).toBe(400);
    expect(unknown.message).toContain('unknown field "spec.version"');
    const kind = await refusal(post(c, { ...request({ talosVersion: 'v1.13.9' }), kind: 'Upgrade' }));
    expect(kind.code).toBe(400);
    const strategy = await refusal(post(c, request({ talosVersion: 'v1.13.9', strategy: 'AllAtOnce' })));
    expect(strategy.code).toBe(422);
    const zero = await refusal(post(c, request({ talosVersion: 'v1.13.9', maxUnavailable: 0 })));
    expect(zero.code).toBe(422);
    expect(((await store().get('ns', 'bad')) as any).metadata.resourceVersion).toBe(c.metadata.resourceVersion);
  });

  it('a cluster changed since it was read is a 409, never overwritten', async () => {
    const c = await createCluster('stale');
    await store().patch('ns', 'stale', 'merge', { metadata: { labels: { a: 'b' } } }, systemContext());
    const e = await refusal(post(c, request({ talosVersion: 'v1.13.9' })));
    expect(e.code).toBe(409);
    expect(((await store().get('ns', 'stale')) as any).spec.talos.version).toBe('v1.12.11');
  });
});
