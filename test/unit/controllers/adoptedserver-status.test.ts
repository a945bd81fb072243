import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/machinery/kind.js';
import { planStatus, statusChanged, type Observation } from '../../../src/controllers/adoptedserver/status.js';
import type { NodeProbe } from '../../../src/nodeaccess/health.js';

const now = Date.parse('2026-12-01T10:00:00Z');

function server(spec: Record<string, unknown>, status?: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'metal.sidero.dev/v1alpha2',
    kind: 'AdoptedServer',
    metadata: { name: 'cp-1', namespace: 'default', uid: 'u', generation: 2 },
    spec: { talos: { endpoint: '127.0.0.2:50000', nodeType: 'controlplane' }, ...spec },
    ...(status ? { status } : {}),
  };
}

const healthy: NodeProbe = {
  facts: {
    talosVersion: 'v1.13.9',
    hostname: 'cp-1',
    architecture: 'amd64',
    platform: 'metal',
    nodeType: 'controlplane',
  },
  status: 'Healthy',
  checks: [
    { name: 'reachable', status: 'Healthy', message: 'Talos v1.13.9 (metal)', durationMs: 2 },
    { name: 'service/etcd', status: 'Healthy', message: 'running, healthy', durationMs: 1 },
  ],
};
const ok: Observation = { contact: { ok: true, probe: healthy }, sync: { state: 'disabled' }, now };
const cond = (s: { conditions?: unknown }, type: string) =>
  (s.conditions as { type: string }[]).find((c) => c.type === type) as Record<string, unknown>;

describe('AdoptedServer status from one look at the node', () => {
  it('an accepted, reachable, healthy node is Ready, with node info, addresses and events for what changed', () => {
    const { status, events } = planStatus(server({ accepted: true }), ok);
    expect(status).toMatchObject({
      ready: true,
      connected: true,
      observedGeneration: 2,
      lastContactTime: '2026-12-01T10:00:00Z',
      health: { status: 'Healthy' },
      nodeInfo: { hostname: 'cp-1', talosVersion: 'v1.13.9', nodeType: 'controlplane', architecture: 'amd64' },
      addresses: [
        { type: 'InternalIP', address: '127.0.0.2' },
        { type: 'Hostname', address: 'cp-1' },
      ],
    });
    expect(cond(status, 'Connected')).toMatchObject({ status: 'True', reason: 'TalosAPIReachable' });
    expect(cond(status, 'Adopted')).toMatchObject({ status: 'True', reason: 'Adopted' });
    expect(cond(status, 'Ready')).toMatchObject({ status: 'True' });
    expect(cond(status, 'SideroLinkReady')).toMatchObject({ status: 'False', reason: 'Disabled', severity: 'Info' });
    expect(cond(status, 'ManagementAPISync')).toMatchObject({ status: 'False', reason: 'Disabled' });
    expect(events.map((e) => e.reason)).toEqual(['Connected', 'Adopted']);
  });

  it('looking again with nothing new changes nothing but times, and records no event', () => {
    const first = planStatus(server({ accepted: true }), ok).status;
    const again = planStatus(server({ accepted: true }, first as Record<string, unknown>), {
      ...ok,
      now: now + 30_000,
    });
    expect(again.events).toEqual([]);
    expect(statusChanged(first, again.status)).toBe(false);
    expect(again.status.lastContactTime).toBe('2026-12-01T10:00:30Z');
    expect(cond(again.status, 'Connected').lastTransitionTime).toBe('2026-12-01T10:00:00Z');
  });

  it('losing the node: Connected=False with the failure as reason, a ConnectionLost warning, still Adopted', () => {
    const first = planStatus(server({ accepted: true }), ok).status;
    const lost = planStatus(server({ accepted: true }, first as Record<string, unknown>), {
      ...ok,
      contact: {
        ok: false,
        reason: 'TalosAPIUnreachable',
        message: 'Talos node 127.0.0.2:50000 (Version) is unreachable',
      },
      now: now + 30_000,
    });
    expect(lost.status).toMatchObject({ connected: false, ready: false });
    expect(cond(lost.status, 'Connected')).toMatchObject({
      status: 'False',
      reason: 'TalosAPIUnreachable',
      severity: 'Warning',
      lastTransitionTime: '2026-12-01T10:00:30Z',
    });
    expect(cond(lost.status, 'Adopted')).toMatchObject({ status: 'True' });
    expect(cond(lost.status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'TalosAPIUnreachable',
      message: 'Talos node 127.0.0.2:50000 (Version) is unreachable',
    });
    // the last verdict is not a claim about now: Unknown, with when the node was last asked
    expect(lost.status.health).toEqual({
      status: 'Unknown',
      lastCheckTime: '2026-12-01T10:00:00Z',
      message: 'the node cannot be asked now (TalosAPIUnreachable); last checked at 2026-12-01T10:00:00Z',
    });
    expect(lost.events).toEqual([
      { type: 'Warning', reason: 'ConnectionLost', message: expect.stringContaining('unreachable') },
    ]);
    expect(statusChanged(first, lost.status)).toBe(true);
  });

  it('no credentials or a refused address never adopt; the event carries the reason', () => {
    for (const reason of ['NoCredentials', 'OutboundNotAllowed']) {
      const r = planStatus(server({ accepted: true }), {
        ...ok,
        contact: { ok: false, reason, message: `because ${reason}` },
      });
      expect(cond(r.status, 'Connected')).toMatchObject({ status: 'False', reason });
      expect(cond(r.status, 'Adopted')).toMatchObject({ status: 'False', reason: 'AdoptionFailed', severity: 'Error' });
      expect(r.events.map((e) => e.reason)).toEqual([reason]);
      // nothing was dialled: Ready says why in the failure's own words, not that the API did not answer
      expect(cond(r.status, 'Ready')).toMatchObject({ status: 'False', reason, message: `because ${reason}` });
      expect(r.status.health).toMatchObject({ status: 'Unknown', message: expect.stringContaining('never checked') });
    }
  });

  it('back in contact after Unknown health: Healthy again, told by the Connected event, not a HealthChanged one', () => {
    const first = planStatus(server({ accepted: true }), ok).status;
    const lost = planStatus(server({ accepted: true }, first as Record<string, unknown>), {
      ...ok,
      contact: { ok: false, reason: 'Timeout', message: 'too slow' },
      now: now + 30_000,
    }).status;
    const back = planStatus(server({ accepted: true }, lost as Record<string, unknown>), { ...ok, now: now + 60_000 });
    expect(back.status.health).toMatchObject({ status: 'Healthy', lastCheckTime: '2026-12-01T10:01:00Z' });
    expect(back.events.map((e) => e.reason)).toEqual(['Connected']);
  });

  it('a node that is not what spec.talos.nodeType declares: NodeTypeMatches=False with a warning, both ways', () => {
    const asWorker = planStatus(
      server({ accepted: true, talos: { endpoint: '127.0.0.2:50000', nodeType: 'worker' } }),
      { ...ok, contact: { ok: true, probe: { ...healthy, facts: { ...healthy.facts, nodeType: 'controlplane' } } } },
    );
    const mismatch = {
      status: 'False',
      severity: 'Warning',
      reason: 'NodeTypeMismatch',
      message:
        'the node is a control plane (it runs etcd), but spec.talos.nodeType declares worker: set spec.talos.nodeType to controlplane',
    };
    expect(cond(asWorker.status, 'NodeTypeMatches')).toMatchObject(mismatch);
    expect(asWorker.status.nodeInfo?.nodeType).toBe('controlplane');
    expect(asWorker.events).toContainEqual({ type: 'Warning', reason: 'NodeTypeMismatch', message: mismatch.message });
    const asControlPlane = planStatus(server({ accepted: true }), {
      ...ok,
      contact: { ok: true, probe: { ...healthy, facts: { ...healthy.facts, nodeType: 'worker' } } },
    });
    expect(cond(asControlPlane.status, 'NodeTypeMatches')).toMatchObject({
      status: 'False',
      reason: 'NodeTypeMismatch',
      message: expect.stringContaining(
        'the node is a worker (it runs no etcd), but spec.talos.nodeType declares controlplane',
      ),
    });
    const matching = planStatus(server({ accepted: true }), {
      ...ok,
      contact: { ok: true, probe: { ...healthy, facts: { ...healthy.facts, nodeType: 'controlplane' } } },
    });
    expect(cond(matching.status, 'NodeTypeMatches')).toMatchObject({ status: 'True', reason: 'NodeTypeMatches' });
    expect(matching.events.map((e) => e.reason)).not.toContain('NodeTypeMismatch');
    // services not listed: what the node is stays untold, no verdict either way
    const { nodeType: _untold, ...unlisted } = healthy.facts;
    const blind = planStatus(server({ accepted: true }), {
      ...ok,
      contact: { ok: true, probe: { ...healthy, facts: unlisted } },
    });
    expect(cond(blind.status, 'NodeTypeMatches')).toBeUndefined();
    expect(blind.status.nodeInfo?.nodeType).toBeUndefined();
  });

  it('a server that is not accepted is not contacted and not ready', () => {
    const r = planStatus(server({ accepted: false }), { ...ok, contact: { ok: 'skipped' } });
    expect(r.status).toMatchObject({ ready: false, connected: false });
    expect(cond(r.status, 'Connected')).toMatchObject({ status: 'Unknown', reason: 'NotAccepted' });
    expect(cond(r.status, 'Adopted')).toMatchObject({ status: 'False', reason: 'NotAccepted', severity: 'Info' });
    expect(cond(r.status, 'Ready')).toMatchObject({ status: 'False', reason: 'NotAccepted' });
    expect(r.status.health).toMatchObject({ status: 'Unknown' });
  });

  it('SideroLink reflects its configuration (monitoring-only, no tunnel); Management API sync results', () => {
    const spec = {
      accepted: true,
      sideroLink: { enabled: true, address: 'fdae:41e4:649b:9303::1' },
      managementAPI: { enabled: true, endpoint: 'http://127.0.0.1:1' },
    };
    const synced = planStatus(server(spec), { ...ok, sync: { state: 'synced' } });
    expect(synced.status.sideroLinkStatus).toEqual({ connected: false, address: 'fdae:41e4:649b:9303::1' });
    expect(cond(synced.status, 'SideroLinkReady')).toMatchObject({ status: 'False', reason: 'MonitoringOnly' });
    expect(cond(synced.status, 'ManagementAPISync')).toMatchObject({ status: 'True', reason: 'Synced' });
    expect(synced.status.managementAPIStatus).toMatchObject({ synced: true });
    const failed = planStatus(server(spec, synced.status as Record<string, unknown>), {
      ...ok,
      sync: { state: 'failed', reason: 'SyncFailed', message: 'HTTP 500' },
    });
    expect(cond(failed.status, 'ManagementAPISync')).toMatchObject({
      status: 'False',
      reason: 'SyncFailed',
      message: 'HTTP 500',
    });
    expect(failed.events).toEqual([{ type: 'Warning', reason: 'ManagementAPISyncFailed', message: 'HTTP 500' }]);
  });

  it('an unhealthy service makes the node not Ready and is told as a HealthChanged warning', () => {
    const first = planStatus(server({ accepted: true }), ok).status;
    const sick: NodeProbe = {
      ...healthy,
      status: 'Unhealthy',
      checks: [
        ...healthy.checks,
        { name: 'service/kubelet', status: 'Unhealthy', message: 'running, unhealthy', durationMs: 1 },
      ],
    };
    const r = planStatus(server({ accepted: true }, first as Record<string, unknown>), {
      ...ok,
      contact: { ok: true, probe: sick },
    });
    expect(r.status).toMatchObject({
      ready: false,
      health: { status: 'Unhealthy', message: 'service/kubelet: running, unhealthy' },
    });
    expect(cond(r.status, 'Ready')).toMatchObject({ status: 'False', reason: 'Unhealthy' });
    expect(r.events).toEqual([
      { type: 'Warning', reason: 'HealthChanged', message: expect.stringContaining('Healthy -> Unhealthy') },
    ]);
  });
});
