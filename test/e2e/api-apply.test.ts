// Server-side apply over raw HTTP against the real server binary: status codes, option checks,
// conflicts as Status objects, dry-run, no-op applies, and managedFields on every kind of write.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adoptedServers,
  create,
  createNamespace,
  expectStatus,
  JSONPATCH_HDR,
  kubernetesCluster,
  kubernetesClusters,
  MERGE_HDR,
  storeRevision,
} from '../helpers/api.js';
import { disposeServer, startServer, type TestServer, SAMPLE_OBJECTS_ONLY } from '../helpers/server.js';

const NS = 'ssa';
const KC = kubernetesClusters(NS);
const AS = adoptedServers(NS);
const APPLY = { 'Content-Type': 'application/apply-patch+yaml' };
let s: TestServer;

beforeAll(async () => {
  s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
  await createNamespace(s, NS);
});

afterAll(async () => {
  await disposeServer(s);
});

const applyKC = (name: string, body: unknown, query = 'fieldManager=gitops') =>
  s.request('PATCH', `${KC}/${name}?${query}`, {
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: APPLY,
  });
const get = async (path: string) => (await s.request('GET', path)).json();

function pools(name: string, ...workers: [string, number][]) {
  const obj = kubernetesCluster(name);
  obj.spec.topology.workers = workers.map(([n, replicas]) => ({ name: n, replicas, version: '1.33.0' }));
  return obj;
}

describe('apply requests', () => {
  it('creates with 201, answers 200 afterwards, and a repeated apply does not write', async () => {
    const created = await applyKC('c1', pools('c1', ['pool-a', 2]));
    expect(created.status, created.body).toBe(201);
    const obj = created.json();
    expect(obj.metadata.managedFields).toEqual([
      expect.objectContaining({
        manager: 'gitops',
        operation: 'Apply',
        apiVersion: 'vitistack.io/v1alpha1',
        fieldsType: 'FieldsV1',
      }),
    ]);
    expect(obj.metadata.managedFields[0].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const before = await storeRevision(s);
    const again = await applyKC('c1', pools('c1', ['pool-a', 2]));
    expect(again.status).toBe(200);
    expect(again.json().metadata.resourceVersion).toBe(obj.metadata.resourceVersion);
    expect(await storeRevision(s)).toBe(before);
  });

  it('accepts YAML bodies', async () => {
    const yaml = `apiVersion: vitistack.io/v1alpha1
kind: KubernetesCluster
metadata:
  name: c1
spec:
  topology:
    workers:
      - name: pool-a
        replicas: 3
`;
    // another manager, so gitops keeps the rest (its own partial apply would remove it)
    const r = await applyKC('c1', yaml, 'fieldManager=yaml-tool&force=true');
    expect(r.status, r.body).toBe(200);
    expect(r.json().spec.topology.workers).toEqual([{ name: 'pool-a', replicas: 3, version: '1.33.0' }]);
  });

  it('checks its options and body as kube-apiserver does, changing nothing', async () => {
    const before = await storeRevision(s);
    const noManager = expectStatus(await applyKC('c1', pools('c1'), ''), 422, 'Invalid');
    expect(noManager.message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    const withMF = { ...pools('c1'), metadata: { name: 'c1', managedFields: [] } };
    expect(expectStatus(await applyKC('c1', withMF), 400, 'BadRequest').message).toBe(
      'metadata.managedFields must be nil',
    );
    const otherName = expectStatus(await applyKC('c1', pools('c2')), 400, 'BadRequest');
    expect(otherName.message).toBe('the name of the object (c2) does not match the name on the URL (c1)');
    expectStatus(await applyKC('c1', { ...pools('c1'), apiVersion: 'vitistack.io/v1' }), 400, 'BadRequest');
    expectStatus(await applyKC('c1', { ...pools('c1'), kind: 'Machine' }), 400, 'BadRequest');
    expectStatus(await applyKC('c1', pools('c1'), 'fieldManager=gitops&force=maybe'), 400, 'BadRequest');
    const noKey = { ...pools('c1'), spec: { topology: { workers: [{ replicas: 1 }] } } };
    expect(expectStatus(await applyKC('c1', noKey), 422, 'Invalid').details.causes[0].field).toBe(
      'spec.topology.workers[0].name',
    );
    const strict = expectStatus(
      await applyKC('c1', { ...pools('c1'), spec: { nope: 1 } }, 'fieldManager=gitops&fieldValidation=Strict'),
      400,
      'BadRequest',
    );
    expect(strict.message).toContain('unknown field "spec.nope"');
    const force = expectStatus(
      await s.request('PATCH', `${KC}/c1?force=true`, { body: '{}', headers: MERGE_HDR }),
      422,
      'Invalid',
    );
    expect(force.details.causes[0]).toMatchObject({ field: 'force' });
    expect(await storeRevision(s)).toBe(before);
  });

  it('answers a conflict as a 409 Status with one FieldManagerConflict cause per field', async () => {
    await applyKC('c3', pools('c3', ['pool-a', 2], ['pool-b', 1]));
    const patched = await s.request('PATCH', `${KC}/c3?fieldManager=scaler`, {
      body: JSON.stringify({
        spec: {
          topology: {
            workers: [
              { name: 'pool-a', replicas: 5, version: '1.33.0' },
              { name: 'pool-b', replicas: 1, version: '1.33.0' },
            ],
          },
        },
      }),
      headers: MERGE_HDR,
    });
    expect(patched.status).toBe(200);
    const before = await storeRevision(s);
    const st = expectStatus(await applyKC('c3', pools('c3', ['pool-a', 2], ['pool-b', 1])), 409, 'Conflict');
    expect(st).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Apply failed with 1 conflict: conflict with "scaler" using vitistack.io/v1alpha1: .spec.topology.workers[name="pool-a"].replicas',
      reason: 'Conflict',
      details: {
        causes: [
          {
            reason: 'FieldManagerConflict',
            message: 'conflict with "scaler" using vitistack.io/v1alpha1',
            field: '.spec.topology.workers[name="pool-a"].replicas',
          },
        ],
      },
      code: 409,
    });
    expect(await storeRevision(s)).toBe(before);
    const forced = await applyKC('c3', pools('c3', ['pool-a', 2], ['pool-b', 1]), 'fieldManager=gitops&force=true');
    expect(forced.status).toBe(200);
    expect(forced.json().spec.topology.workers[0].replicas).toBe(2);
    expect(forced.json().metadata.managedFields.map((e: any) => e.manager)).toEqual(['gitops']);
  });

  it('dryRun=All goes through validation and stores nothing, for creates and changes', async () => {
    const before = await storeRevision(s);
    const dryCreate = await applyKC('c4', pools('c4', ['x', 1]), 'fieldManager=gitops&dryRun=All');
    expect(dryCreate.status, dryCreate.body).toBe(201);
    expect(dryCreate.json().metadata.resourceVersion ?? '').toBe('');
    expect((await s.request('GET', `${KC}/c4`)).status).toBe(404);
    const dryChange = await applyKC('c1', pools('c1', ['pool-a', 9]), 'fieldManager=gitops&dryRun=All&force=true');
    expect(dryChange.json().spec.topology.workers[0].replicas).toBe(9);
    const invalid = await applyKC(
      'c1',
      { ...pools('c1'), spec: { topology: { controlplane: { replicas: 2 } } } },
      'fieldManager=other&dryRun=All&force=true',
    );
    expect(expectStatus(invalid, 422, 'Invalid').message).toContain('must be odd');
    expect(await storeRevision(s)).toBe(before);
  });

  it('applies status through /status only, with a status subresource entry', async () => {
    const r = await s.request('PATCH', `${KC}/c1/status?fieldManager=ctrl`, {
      body: JSON.stringify({
        apiVersion: 'vitistack.io/v1alpha1',
        kind: 'KubernetesCluster',
        metadata: { name: 'c1' },
        status: { phase: 'Ready' },
        spec: { topology: { version: 'x' } },
      }),
      headers: APPLY,
    });
    expect(r.status, r.body).toBe(200);
    const obj = r.json();
    expect(obj.status.phase).toBe('Ready');
    expect(obj.spec.topology.version).toBe('1.33.0');
    expect(obj.metadata.managedFields.find((e: any) => e.manager === 'ctrl')).toMatchObject({
      operation: 'Apply',
      subresource: 'status',
      fieldsV1: { 'f:status': { 'f:phase': {} } },
    });
    expectStatus(
      await s.request('PATCH', `${KC}/nope/status?fieldManager=ctrl`, {
        body: JSON.stringify(pools('nope')),
        headers: APPLY,
      }),
      404,
      'NotFound',
    );
  });
});

describe('managedFields on other writes', () => {
  it('records creates, updates and patches per manager, and [{}] clears them while [] keeps them', async () => {
    const created = await create(
      s,
      AS,
      {
        apiVersion: 'metal.sidero.dev/v1alpha2',
        kind: 'AdoptedServer',
        metadata: { name: 'a1' },
        spec: { talos: { endpoint: '10.0.0.1:50000', nodeType: 'worker' } },
      },
      '?fieldManager=creator',
    );
    expect(created.metadata.managedFields).toEqual([
      expect.objectContaining({
        manager: 'creator',
        operation: 'Update',
        fieldsV1: expect.objectContaining({ 'f:spec': expect.objectContaining({ '.': {} }) }),
      }),
    ]);
    const labelled = await s.request('PATCH', `${AS}/a1`, {
      body: '{"metadata":{"labels":{"x":"y"}}}',
      headers: { ...MERGE_HDR, 'User-Agent': 'labeller/1.0 (linux)' },
    });
    expect(labelled.json().metadata.managedFields.map((e: any) => e.manager)).toEqual(['creator', 'labeller']);

    const keep = await s.request('PATCH', `${AS}/a1`, {
      body: '{"metadata":{"managedFields":[]}}',
      headers: MERGE_HDR,
    });
    expect(keep.json().metadata.managedFields).toEqual(labelled.json().metadata.managedFields);
    expect(keep.json().metadata.resourceVersion).toBe(labelled.json().metadata.resourceVersion);

    const cleared = await s.request('PATCH', `${AS}/a1`, {
      body: '{"metadata":{"managedFields":[{}]}}',
      headers: MERGE_HDR,
    });
    expect(cleared.status).toBe(200);
    expect(cleared.json().metadata.managedFields).toBeUndefined();
    expect((await get(`${AS}/a1`)).metadata.managedFields).toBeUndefined();

    const replaced = await s.request('PATCH', `${AS}/a1`, {
      body: JSON.stringify([
        {
          op: 'add',
          path: '/metadata/managedFields',
          value: [
            {
              manager: 'm',
              operation: 'Apply',
              apiVersion: 'metal.sidero.dev/v1alpha2',
              fieldsType: 'FieldsV1',
              fieldsV1: { 'f:spec': { 'f:talos': { 'f:nodeType': {} } } },
            },
          ],
        },
      ]),
      headers: JSONPATCH_HDR,
    });
    expect(replaced.json().metadata.managedFields).toEqual([
      {
        manager: 'm',
        operation: 'Apply',
        apiVersion: 'metal.sidero.dev/v1alpha2',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { 'f:talos': { 'f:nodeType': {} } } },
      },
    ]);
  });
});
