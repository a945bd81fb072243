// Update bookkeeping and server-side apply on KubernetesCluster, as the store calls them.
import { describe, expect, it } from 'vitest';
import { kubernetesClusterKind } from '../../../src/api/index.js';
import { StatusError } from '../../../src/machinery/errors.js';
import type { KubeObject, ManagedFieldsEntry } from '../../../src/machinery/kind.js';
import { fieldManagerFor, keepTimestampsIfUnchanged } from '../../../src/machinery/managedfields/fieldmanager.js';

const fm = fieldManagerFor(kubernetesClusterKind);
const GV = 'vitistack.io/v1alpha1';
const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:01:00Z';

function kc(
  workers: Record<string, unknown>[],
  more: Record<string, unknown> = {},
  meta: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: GV,
    kind: 'KubernetesCluster',
    metadata: { name: 'c', namespace: 'ns', ...meta },
    spec: { topology: { version: '1.33', workers }, ...more },
  };
}

function stored(obj: KubeObject, managedFields: ManagedFieldsEntry[] | undefined): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, uid: 'u', resourceVersion: '5', managedFields } };
}

function conflictOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  throw new Error('expected a conflict');
}

const managers = (mf: ManagedFieldsEntry[] | undefined) =>
  (mf ?? []).map((e) => `${e.manager}/${e.operation}${e.subresource ? '/' + e.subresource : ''}`);

describe('Update bookkeeping', () => {
  it('gives a create everything it set, the nodes it added marked with "."', () => {
    const mf = fm.update(undefined, kc([{ name: 'pool-a', replicas: 2 }], {}, { labels: { app: 'x' } }), {
      manager: 'kubectl-create',
      now: T0,
    });
    expect(mf).toEqual([
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: GV,
        time: T0,
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
          'f:spec': {
            '.': {},
            'f:topology': {
              '.': {},
              'f:version': {},
              'f:workers': { '.': {}, 'k:{"name":"pool-a"}': { '.': {}, 'f:name': {}, 'f:replicas': {} } },
            },
          },
        },
      },
    ]);
  });

  it('moves changed fields to the writer and drops them from others; a no-change write keeps its time', () => {
    const v1 = kc([{ name: 'pool-a', replicas: 2 }]);
    const old = stored(v1, fm.update(undefined, v1, { manager: 'gitops', now: T0 }));
    const v2 = kc([{ name: 'pool-a', replicas: 5 }]);
    const mf = fm.update(old, v2, { manager: 'scaler', now: T1 })!;
    expect(managers(mf)).toEqual(['gitops/Update', 'scaler/Update']);
    expect(mf[1]!.fieldsV1).toEqual({
      'f:spec': { 'f:topology': { 'f:workers': { 'k:{"name":"pool-a"}': { 'f:replicas': {} } } } },
    });
    expect(JSON.stringify(mf[0]!.fieldsV1)).not.toContain('replicas');
    const again = fm.update(stored(v2, mf), v2, { manager: 'scaler', now: '2026-01-01T00:02:00Z' })!;
    expect(again).toEqual(mf);
  });

  it('tracks status only through /status when the kind has a status subresource', () => {
    const v1 = kc([]);
    const old = stored(v1, fm.update(undefined, v1, { manager: 'gitops', now: T0 }));
    const withStatus = {
      ...v1,
      status: { phase: 'Ready', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: T0 }] },
    };
    const mf = fm.update(old, withStatus, { manager: 'controller', subresource: 'status', now: T1 })!;
    expect(managers(mf)).toEqual(['gitops/Update', 'controller/Update/status']);
    expect(Object.keys(mf[1]!.fieldsV1 as object)).toEqual(['f:status']);
    expect((mf[1]!.fieldsV1 as any)['f:status']['f:conditions']['k:{"type":"Ready"}']).toEqual({
      '.': {},
      'f:lastTransitionTime': {},
      'f:status': {},
      'f:type': {},
    });
    // a main-resource write never takes status
    expect(
      managers(
        fm.update(stored(withStatus, mf), { ...withStatus, status: { phase: 'Other' } }, { manager: 'x', now: T1 }),
      ),
    ).toEqual(managers(mf));
  });

  it('[{}] clears managedFields, [] and absent keep them, a decodable list replaces them', () => {
    const v1 = kc([{ name: 'a' }]);
    const mf = fm.update(undefined, v1, { manager: 'gitops', now: T0 })!;
    const old = stored(v1, mf);
    const write = (managedFields: unknown) =>
      fm.update(old, { ...v1, metadata: { ...v1.metadata, managedFields } } as KubeObject, { manager: 'w', now: T1 });
    expect(write([{}])).toBeUndefined();
    expect(write([])).toEqual(mf);
    expect(write(undefined)).toEqual(mf);
    const replacement = [
      {
        manager: 'other',
        operation: 'Apply',
        apiVersion: GV,
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { 'f:topology': { 'f:version': {} } } },
      },
    ];
    expect(managers(write(replacement))).toEqual(['other/Apply']);
    // upstream ignores managedFields that do not decode, and rejects bad manager names
    expect(write([{ manager: 'x', operation: 'Bogus', apiVersion: GV, fieldsType: 'FieldsV1', fieldsV1: {} }])).toEqual(
      mf,
    );
    expect(write([{ ...replacement[0], fieldsV1: { nope: {} } }])).toEqual(mf);
    const long = conflictOf(() => write([{ ...replacement[0], manager: 'm'.repeat(129) }]));
    expect(long.code).toBe(422);
    expect(long.message).toContain('metadata.managedFields[0].manager: Too long: may not be more than 128 bytes');
  });

  it('keeps at most 10 Update entries, folding the oldest into ancient-changes', () => {
    let obj = kc([]);
    let mf: ManagedFieldsEntry[] | undefined;
    for (let i = 0; i < 12; i++) {
      const next = kc([], { data: { [`f${i}`]: 'x' } });
      (next.spec as any).data = { ...((obj.spec as any).data ?? {}), [`f${i}`]: 'x' };
      mf = fm.update(obj.metadata.uid ? obj : undefined, next, {
        manager: `m${i}`,
        now: `2026-01-01T00:00:${String(10 + i)}Z`,
      });
      obj = stored(next, mf);
    }
    expect(mf).toHaveLength(10);
    expect(mf![0]!.manager).toBe('ancient-changes');
    expect(mf![0]!.time).toBe('2026-01-01T00:00:12Z');
    expect(JSON.stringify(mf![0]!.fieldsV1)).toMatch(/f:f0.*f:f1.*f:f2/);
    expect(mf!.map((e) => e.manager).slice(1)).toEqual(['m3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10', 'm11']);
  });
});

describe('apply', () => {
  const apply = (live: KubeObject | undefined, config: KubeObject, manager: string, force = false, now = T1) =>
    fm.apply(live, config, { manager, now, force });

  it('creates with an Apply entry that owns exactly the configuration', () => {
    const { object, managedFields } = apply(undefined, kc([{ name: 'pool-a', replicas: 2 }]), 'gitops');
    expect(object.spec).toEqual({ topology: { version: '1.33', workers: [{ name: 'pool-a', replicas: 2 }] } });
    expect(managedFields).toEqual([
      {
        manager: 'gitops',
        operation: 'Apply',
        apiVersion: GV,
        time: T1,
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:spec': {
            'f:topology': {
              'f:version': {},
              'f:workers': { 'k:{"name":"pool-a"}': { '.': {}, 'f:name': {}, 'f:replicas': {} } },
            },
          },
        },
      },
    ]);
  });

  it('conflicts with a manager that changed a field the configuration sets differently; force takes it', () => {
    const first = apply(
      undefined,
      kc([
        { name: 'pool-a', replicas: 2 },
        { name: 'pool-b', replicas: 1 },
      ]),
      'gitops',
    );
    const live = stored(first.object, first.managedFields);
    const scaled = kc([
      { name: 'pool-a', replicas: 5 },
      { name: 'pool-b', replicas: 1 },
    ]);
    const afterScale = stored(scaled, fm.update(live, scaled, { manager: 'kubectl-patch', now: T1 }));

    const e = conflictOf(() =>
      apply(
        afterScale,
        kc([
          { name: 'pool-a', replicas: 2 },
          { name: 'pool-b', replicas: 1 },
        ]),
        'gitops',
      ),
    );
    expect(e.code).toBe(409);
    expect(e.toStatus()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      reason: 'Conflict',
      code: 409,
      message: `Apply failed with 1 conflict: conflict with "kubectl-patch" using ${GV}: .spec.topology.workers[name="pool-a"].replicas`,
      details: {
        causes: [
          {
            reason: 'FieldManagerConflict',
            message: `conflict with "kubectl-patch" using ${GV}`,
            field: '.spec.topology.workers[name="pool-a"].replicas',
          },
        ],
      },
    });

    // the same value is shared without conflict; omitting the field leaves it to the other manager
    const shared = apply(
      afterScale,
      kc([
        { name: 'pool-a', replicas: 5 },
        { name: 'pool-b', replicas: 1 },
      ]),
      'gitops',
    );
    expect(managers(shared.managedFields)).toEqual(['gitops/Apply', 'kubectl-patch/Update']);
    const omitted = apply(afterScale, kc([{ name: 'pool-a' }, { name: 'pool-b', replicas: 1 }]), 'gitops');
    expect((omitted.object.spec as any).topology.workers[0]).toEqual({ name: 'pool-a', replicas: 5 });

    const forced = apply(
      afterScale,
      kc([
        { name: 'pool-a', replicas: 2 },
        { name: 'pool-b', replicas: 1 },
      ]),
      'gitops',
      true,
    );
    expect((forced.object.spec as any).topology.workers[0].replicas).toBe(2);
    expect(managers(forced.managedFields)).toEqual(['gitops/Apply']);
  });

  it('lists several conflicts grouped by manager', () => {
    const first = apply(undefined, kc([{ name: 'a', replicas: 1 }]), 'one');
    const second = apply(
      stored(first.object, first.managedFields),
      kc([{ name: 'a', replicas: 1 }], { data: { region: 'r' } }, {}),
      'two',
    );
    const live = stored(second.object, second.managedFields);
    const e = conflictOf(() => apply(live, kc([{ name: 'a', replicas: 9 }], { data: { region: 'x' } }), 'three'));
    expect(e.message).toBe(
      'Apply failed with 3 conflicts: conflicts with "one":\n- .spec.topology.workers[name="a"].replicas\n' +
        'conflicts with "two":\n- .spec.data.region\n- .spec.topology.workers[name="a"].replicas',
    );
    expect(e.details!.causes).toHaveLength(3);
  });

  it('removes what the applier no longer applies unless someone else owns it', () => {
    const first = apply(
      undefined,
      kc(
        [
          { name: 'pool-a', replicas: 2 },
          { name: 'pool-b', replicas: 1 },
        ],
        {},
        { labels: { a: '1', b: '2' } },
      ),
      'gitops',
    );
    const live = stored(first.object, first.managedFields);
    const labelled = { ...live, metadata: { ...live.metadata, labels: { a: '1', b: '2', c: '3' } } };
    const withLabel = stored(labelled, fm.update(live, labelled, { manager: 'kubectl-label', now: T1 }));
    const next = apply(withLabel, kc([{ name: 'pool-a', replicas: 2 }], {}, { labels: { a: '1' } }), 'gitops');
    expect((next.object.spec as any).topology.workers.map((w: any) => w.name)).toEqual(['pool-a']);
    expect(next.object.metadata.labels).toEqual({ a: '1', c: '3' });
    expect(JSON.stringify(next.managedFields)).not.toContain('pool-b');
  });

  it('keeps metadata when the applier stops applying everything in it (found by the fuzzer: it was removed whole, a 500)', () => {
    const first = apply(undefined, kc([{ name: 'pool-a', replicas: 2 }], {}, { labels: { app: 'x' } }), 'gitops');
    const live = stored(first.object, first.managedFields);
    const bare: KubeObject = { apiVersion: GV, kind: 'KubernetesCluster', metadata: { name: 'c', namespace: 'ns' } };
    const next = apply(live, bare, 'gitops');
    expect(next.object.metadata).toMatchObject({ name: 'c', namespace: 'ns', uid: 'u' });
    expect(next.object.metadata.labels).toBeUndefined();
    expect(next.object.spec).toBeUndefined();
  });

  it('applies to /status only status, and never lets the main resource take status', () => {
    const first = apply(undefined, kc([]), 'gitops');
    const live = stored(first.object, first.managedFields);
    const cfg = { ...kc([{ name: 'sneaky' }]), status: { phase: 'Ready' } };
    const st = fm.apply(live, cfg, { manager: 'ctrl', subresource: 'status', now: T1, force: false });
    expect(managers(st.managedFields)).toEqual(['ctrl/Apply/status', 'gitops/Apply']);
    expect(st.managedFields![0]!.fieldsV1).toEqual({ 'f:status': { 'f:phase': {} } });
    const main = apply(live, cfg, 'gitops');
    expect(main.object.status).toBeUndefined();
    expect(JSON.stringify(main.managedFields)).not.toContain('status');
  });

  it('rejects managedFields in the configuration and items without keys', () => {
    const withMF = kc([], {}, { managedFields: [] });
    expect(conflictOf(() => apply(undefined, withMF, 'x')).message).toBe('metadata.managedFields must be nil');
    const e = conflictOf(() => apply(undefined, kc([{ replicas: 1 }]), 'x'));
    expect(e.code).toBe(422);
    expect(e.details!.causes![0]).toMatchObject({
      field: 'spec.topology.workers[0].name',
      reason: 'FieldValueRequired',
    });
  });

  it('lets "kubectl" take over fields still holding what client-side apply last applied, and rewrites the annotation', () => {
    const csaConfig = kc([{ name: 'a', replicas: 1 }]);
    const annotation = JSON.stringify(csaConfig) + '\n';
    const created = kc(
      [{ name: 'a', replicas: 1 }],
      {},
      { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': annotation } },
    );
    const live = stored(created, fm.update(undefined, created, { manager: 'kubectl-client-side-apply', now: T0 }));
    const ssa = kc([{ name: 'a', replicas: 3 }]);
    expect(conflictOf(() => apply(live, ssa, 'gitops')).code).toBe(409);
    const { object } = apply(live, ssa, 'kubectl');
    expect((object.spec as any).topology.workers[0].replicas).toBe(3);
    expect(JSON.parse(object.metadata.annotations!['kubectl.kubernetes.io/last-applied-configuration']!)).toEqual(ssa);
  });
});

describe('keepTimestampsIfUnchanged', () => {
  it('restores the stored managedFields when only timestamps differ', () => {
    const v = kc([{ name: 'a' }]);
    const old = stored(v, fm.apply(undefined, v, { manager: 'g', now: T0, force: false }).managedFields);
    const again = fm.apply(old, v, { manager: 'g', now: T1, force: false });
    const obj = {
      ...again.object,
      metadata: { ...again.object.metadata, uid: 'u', resourceVersion: '5', managedFields: again.managedFields },
    };
    expect(obj.metadata.managedFields![0]!.time).toBe(T1);
    keepTimestampsIfUnchanged(old, obj);
    expect(obj.metadata.managedFields![0]!.time).toBe(T0);
    const changed = { ...obj, spec: { x: 1 }, metadata: { ...obj.metadata, managedFields: again.managedFields } };
    keepTimestampsIfUnchanged(old, changed);
    expect(changed.metadata.managedFields![0]!.time).toBe(T1);
  });
});
