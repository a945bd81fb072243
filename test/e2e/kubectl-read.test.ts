// The real kubectl reading from the server: api-resources, explain, get in every output format
// with selectors and chunking, and describe with events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeServer, startServer, type TestServer, SAMPLE_OBJECTS_ONLY } from '../helpers/server.js';
import {
  adoptedServer,
  createNamespace,
  expectClean,
  expectFailure,
  getJSON,
  kubernetesCluster,
  ok,
} from './kubectl-helpers.js';

let s: TestServer;
const NS = 'read-a';
const NS2 = 'read-b';

beforeAll(async () => {
  s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
  await createNamespace(s, NS);
  await createNamespace(s, NS2);
  const manifests = [
    adoptedServer('cp-1', NS, {
      nodeType: 'controlplane',
      hostname: 'cp-1.local',
      endpoint: '192.168.1.10:50000',
      labels: { role: 'cp', site: 'osl' },
    }),
    adoptedServer('w-1', NS, {
      nodeType: 'worker',
      hostname: 'w-1.local',
      endpoint: '192.168.1.20:50000',
      labels: { role: 'worker', site: 'osl' },
    }),
    adoptedServer('w-2', NS, {
      nodeType: 'worker',
      endpoint: '192.168.1.21:50000',
      labels: { role: 'worker', site: 'trd' },
    }),
    adoptedServer('w-3', NS, { nodeType: 'worker', endpoint: '192.168.1.22:50000', labels: { role: 'worker' } }),
    adoptedServer('other-1', NS2, { nodeType: 'controlplane', endpoint: '10.1.0.1:50000' }),
    kubernetesCluster('alpha', NS, 'alpha-id'),
    kubernetesCluster('beta', NS, 'beta-id'),
  ].join('---\n');
  const out = await ok(s, ['create', '-f', '-'], { input: manifests });
  expect(out.trim().split('\n')).toHaveLength(7);
});

afterAll(async () => {
  await disposeServer(s);
});

function rows(table: string): string[][] {
  return table
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
}

describe('kubectl api-resources', () => {
  it('lists our kinds with short names, scope and kind', async () => {
    const out = await ok(s, ['api-resources']);
    const byName = new Map(rows(out).map((r) => [r[0], r.join(' ')]));
    expect(byName.get('adoptedservers')).toBe('adoptedservers as metal.sidero.dev/v1alpha2 true AdoptedServer');
    expect(byName.get('kubernetesclusters')).toBe('kubernetesclusters kc vitistack.io/v1alpha1 true KubernetesCluster');
    expect(byName.get('machines')).toBe('machines m vitistack.io/v1alpha1 true Machine');
    expect(byName.get('servers')).toBe('servers metal.sidero.dev/v1alpha2 false Server');
    expect(byName.get('serverclasses')).toBe('serverclasses metal.sidero.dev/v1alpha2 false ServerClass');
    expect(byName.get('environments')).toBe('environments metal.sidero.dev/v1alpha2 false Environment');
    expect(byName.get('namespaces')).toBe('namespaces ns v1 false Namespace');
    expect(byName.get('secrets')).toBe('secrets v1 true Secret');
    expect(byName.get('events')).toBe('events ev v1 true Event');
  });

  it('shows verbs and the talos category with -o wide', async () => {
    const out = await ok(s, ['api-resources', '-o', 'wide', '--api-group=vitistack.io']);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND\s+VERBS\s+CATEGORIES$/);
    expect(
      lines
        .slice(1)
        .map((l) => l.split(/\s+/)[0])
        .sort(),
    ).toEqual(['kubernetesclusters', 'machines']);
    for (const l of lines.slice(1)) {
      expect(l).toMatch(/\screate,delete,deletecollection,get,list,patch,update,watch\s+talos$/);
    }
  });

  it('kubectl get talos lists every kind of the category', async () => {
    const out = await ok(s, ['get', 'talos', '-n', NS]);
    expect(out).toMatch(/adoptedserver\.metal\.sidero\.dev\/cp-1\s/);
    expect(out).toMatch(/adoptedserver\.metal\.sidero\.dev\/w-3\s/);
    expect(out).toMatch(/kubernetescluster\.vitistack\.io\/alpha\s/);
    expect(out).toMatch(/kubernetescluster\.vitistack\.io\/beta\s/);
  });

  it('resolves short names', async () => {
    expect(await ok(s, ['get', 'as', '-n', NS, '-o', 'name'])).toBe(
      'adoptedserver.metal.sidero.dev/cp-1\nadoptedserver.metal.sidero.dev/w-1\nadoptedserver.metal.sidero.dev/w-2\nadoptedserver.metal.sidero.dev/w-3\n',
    );
    expect(await ok(s, ['get', 'kc', '-n', NS, '-o', 'name'])).toBe(
      'kubernetescluster.vitistack.io/alpha\nkubernetescluster.vitistack.io/beta\n',
    );
  });
});

describe('kubectl explain', () => {
  it('explains kc.spec.topology.workers with descriptions and required fields', async () => {
    const out = await ok(s, ['explain', 'kc.spec.topology.workers']);
    expect(out).toMatch(/^GROUP:\s+vitistack\.io$/m);
    expect(out).toMatch(/^KIND:\s+KubernetesCluster$/m);
    expect(out).toMatch(/^VERSION:\s+v1alpha1$/m);
    expect(out).toMatch(/^FIELD: workers <\[\]Object>$/m);
    expect(out).toContain('Worker pools, keyed by name.');
    expect(out).toMatch(/^\s+name\s+<string> -required-$/m);
    expect(out).toMatch(/^\s+replicas\s+<integer> -required-$/m);
    expect(out).toMatch(/^\s+version\s+<string> -required-$/m);
    expect(out).toMatch(/^\s+provider\s+<string>$/m);
    expect(out).toContain('Number of machines in the pool.');
  });

  it('explains as.spec.talos with descriptions and enums', async () => {
    const out = await ok(s, ['explain', 'as.spec.talos']);
    expect(out).toMatch(/^GROUP:\s+metal\.sidero\.dev$/m);
    expect(out).toMatch(/^KIND:\s+AdoptedServer$/m);
    expect(out).toMatch(/^FIELD: talos <Object>$/m);
    expect(out).toContain("How to reach the node's Talos API and what the node is.");
    expect(out).toMatch(/^\s+endpoint\s+<string> -required-$/m);
    expect(out).toMatch(/^\s+nodeType\s+<string> -required-$/m);
    expect(out).toMatch(/enum: controlplane, worker/);
    expect(out).toContain('Talos machine type of the node: controlplane or worker.');
  });

  it('explains a whole kind and recursive fields', async () => {
    const out = await ok(s, ['explain', 'adoptedservers']);
    expect(out.replace(/\s+/g, ' ')).toContain(
      'DESCRIPTION: AdoptedServer is an already-running Talos node managed without reprovisioning.',
    );
    expect(out).toMatch(/^\s+spec\s+<Object> -required-$/m);
    expect(out).toMatch(/^\s+metadata\s+<ObjectMeta>$/m);
    const rec = await ok(s, ['explain', 'kc.spec', '--recursive']);
    expect(rec).toMatch(/^\s+clusterId\s+<string> -required-$/m);
    expect(rec).toMatch(/^\s+workers\s+<\[\]Object>$/m);
  });

  it('fails clearly for an unknown field', async () => {
    const r = await s.kubectl(['explain', 'as.spec.nosuchfield']);
    expectFailure(r, /field "nosuchfield" does not exist/);
  });
});

describe('kubectl get', () => {
  it('prints the default table with printer columns and AGE, without priority-1 columns', async () => {
    const out = await ok(s, ['get', 'adoptedservers', '-n', NS]);
    const [header, ...body] = out.trim().split('\n');
    expect(header.split(/\s+/)).toEqual([
      'NAME',
      'HOSTNAME',
      'TYPE',
      'ACCEPTED',
      'CONNECTED',
      'READY',
      'HEALTH',
      'AGE',
    ]);
    expect(body).toHaveLength(4);
    expect(body[0]).toMatch(/^cp-1\s+cp-1\.local\s+controlplane\s+false\s+\d+s$/);
    expect(body[2]).toMatch(/^w-2\s+worker\s+false\s+\d+s$/);
    expect(out).not.toContain('ENDPOINT');
  });

  it('-o wide adds the priority-1 columns', async () => {
    const out = await ok(s, ['get', 'as', '-n', NS, '-o', 'wide']);
    const [header, ...body] = out.trim().split('\n');
    expect(header.split(/\s+/)).toEqual([
      'NAME',
      'HOSTNAME',
      'ENDPOINT',
      'TYPE',
      'ACCEPTED',
      'CONNECTED',
      'READY',
      'HEALTH',
      'TALOS',
      'REASON',
      'AGE',
    ]);
    expect(body[0]).toMatch(/^cp-1\s+cp-1\.local\s+192\.168\.1\.10:50000\s+controlplane\s+false\s+\d+s$/);
    const kc = await ok(s, ['get', 'kc', '-n', NS, '-o', 'wide']);
    expect(kc.split('\n')[0].split(/\s+/)).toEqual([
      'NAME',
      'PHASE',
      'PROVIDER',
      'REGION',
      'CPS',
      'WORKERS',
      'READY',
      'HEALTHY',
      'TALOS',
      'TARGET',
      'KUBERNETES',
      'K8S-TARGET',
      'MESSAGE',
      'AGE',
    ]);
    expect(kc).toMatch(/^alpha\s+talos\s+west\s+1\s+1\.33\s+\d+s$/m);
  });

  it('-o yaml and -o json print the stored object', async () => {
    const yaml = await ok(s, ['get', 'as', 'cp-1', '-n', NS, '-o', 'yaml']);
    expect(yaml).toMatch(/^apiVersion: metal\.sidero\.dev\/v1alpha2$/m);
    expect(yaml).toMatch(/^kind: AdoptedServer$/m);
    expect(yaml).toMatch(/^ {4}endpoint: 192\.168\.1\.10:50000$/m);
    expect(yaml).toMatch(/^ {2}uid: [0-9a-f-]{36}$/m);
    expect(yaml).toMatch(/^ {2}creationTimestamp: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"$/m);
    const obj = await getJSON(s, ['as', 'cp-1', '-n', NS]);
    expect(obj.apiVersion).toBe('metal.sidero.dev/v1alpha2');
    expect(obj.kind).toBe('AdoptedServer');
    expect(obj.metadata).toMatchObject({
      name: 'cp-1',
      namespace: NS,
      generation: 1,
      labels: { role: 'cp', site: 'osl' },
    });
    expect(obj.metadata.resourceVersion).toMatch(/^\d+$/);
    // defaults applied
    expect(obj.spec.accepted).toBe(false);
    const list = await getJSON(s, ['kc', '-n', NS]);
    expect(list.kind).toBe('List');
    expect(list.items.map((i: any) => i.metadata.name)).toEqual(['alpha', 'beta']);
    expect(list.items[0].spec.topology.workers).toEqual([{ name: 'pool-a', replicas: 2, version: '1.33' }]);
  });

  it('-o jsonpath and -o custom-columns', async () => {
    expect(await ok(s, ['get', 'as', '-n', NS, '-o', 'jsonpath={.items[*].spec.talos.endpoint}'])).toBe(
      '192.168.1.10:50000 192.168.1.20:50000 192.168.1.21:50000 192.168.1.22:50000',
    );
    const cc = await ok(s, ['get', 'kc', '-n', NS, '-o', 'custom-columns=NAME:.metadata.name,ID:.spec.data.clusterId']);
    expect(cc).toBe('NAME    ID\nalpha   alpha-id\nbeta    beta-id\n');
  });

  it('-A lists across namespaces with a NAMESPACE column', async () => {
    const out = await ok(s, ['get', 'as', '-A']);
    const lines = out.trim().split('\n');
    expect(lines[0].split(/\s+/).slice(0, 2)).toEqual(['NAMESPACE', 'NAME']);
    const pairs = lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join('/'));
    expect(pairs).toEqual(
      expect.arrayContaining([`${NS}/cp-1`, `${NS}/w-1`, `${NS}/w-2`, `${NS}/w-3`, `${NS2}/other-1`]),
    );
    expect(pairs).toHaveLength(5);
  });

  it('-l filters by label (equality, set and existence)', async () => {
    const names = async (sel: string) =>
      (await ok(s, ['get', 'as', '-n', NS, '-l', sel, '-o', 'jsonpath={.items[*].metadata.name}']))
        .split(' ')
        .filter(Boolean);
    expect(await names('role=worker')).toEqual(['w-1', 'w-2', 'w-3']);
    expect(await names('role=worker,site=osl')).toEqual(['w-1']);
    expect(await names('site in (osl,trd)')).toEqual(['cp-1', 'w-1', 'w-2']);
    expect(await names('!site')).toEqual(['w-3']);
    expect(await names('site!=osl')).toEqual(['w-2', 'w-3']);
    const none = await s.kubectl(['get', 'as', '-n', NS, '-l', 'role=none']);
    expectClean(none);
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe(`No resources found in ${NS} namespace.\n`);
  });

  it('-l with a malformed selector fails with the parse error', async () => {
    const r = await s.kubectl(['get', 'as', '-n', NS, '-l', 'site in (osl']);
    expectFailure(r, /BadRequest|unable to parse requirement/);
  });

  it('--field-selector on metadata.name and on custom selectable fields', async () => {
    const names = async (kind: string, sel: string, ns = NS) =>
      (await ok(s, ['get', kind, '-n', ns, '--field-selector', sel, '-o', 'jsonpath={.items[*].metadata.name}']))
        .split(' ')
        .filter(Boolean);
    expect(await names('as', 'metadata.name=w-2')).toEqual(['w-2']);
    expect(await names('as', 'metadata.name!=w-2')).toEqual(['cp-1', 'w-1', 'w-3']);
    expect(await names('as', 'spec.talos.nodeType=worker')).toEqual(['w-1', 'w-2', 'w-3']);
    expect(await names('as', 'spec.talos.nodeType=controlplane')).toEqual(['cp-1']);
    expect(await names('as', 'spec.talos.nodeType=worker,metadata.name!=w-1')).toEqual(['w-2', 'w-3']);
    expect(await names('kc', 'spec.data.clusterId=beta-id')).toEqual(['beta']);
    expect(await names('kc', 'spec.data.clusterId=nope')).toEqual([]);
    const all = await ok(s, ['get', 'as', '-A', '--field-selector', 'spec.talos.nodeType=controlplane', '-o', 'name']);
    expect(all).toBe('adoptedserver.metal.sidero.dev/cp-1\nadoptedserver.metal.sidero.dev/other-1\n');
  });

  it('--field-selector on an unsupported field is a clear error', async () => {
    const r = await s.kubectl(['get', 'as', '-n', NS, '--field-selector', 'spec.talos.endpoint=x']);
    expectFailure(r, /field label not supported: spec\.talos\.endpoint/);
  });

  it('--chunk-size=1 pages through every object', async () => {
    const r = await s.kubectl(['get', 'as', '-A', '--chunk-size=1', '-v=6']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/^(warning|W\d{4} )/im);
    const names = r.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[1]);
    expect(names).toEqual(['cp-1', 'w-1', 'w-2', 'w-3', 'other-1']);
    const requests = r.stderr.split('\n').filter((l) => /verb="GET".*\/adoptedservers\?/.test(l));
    expect(requests.length).toBeGreaterThanOrEqual(5);
    expect(requests.filter((l) => /continue=/.test(l)).length).toBeGreaterThanOrEqual(4);
    for (const l of requests) expect(l).toMatch(/limit=1/);
    const asName = await ok(s, ['get', 'kc', '-n', NS, '--chunk-size=1', '-o', 'name']);
    expect(asName).toBe('kubernetescluster.vitistack.io/alpha\nkubernetescluster.vitistack.io/beta\n');
  });

  it('get of a missing object is NotFound', async () => {
    const r = await s.kubectl(['get', 'as', 'nope', '-n', NS]);
    expectFailure(r, /^Error from server \(NotFound\): adoptedservers\.metal\.sidero\.dev "nope" not found$/m);
  });

  it('get across several kinds at once', async () => {
    const out = await ok(s, ['get', 'as,kc', '-n', NS, '-o', 'name']);
    expect(out.trim().split('\n')).toHaveLength(6);
  });
});

describe('kubectl describe', () => {
  it('shows metadata, spec fields and Events: <none>', async () => {
    const out = await ok(s, ['describe', 'as', 'w-1', '-n', NS]);
    expect(out).toMatch(/^Name:\s+w-1$/m);
    expect(out).toMatch(/^Namespace:\s+read-a$/m);
    expect(out).toMatch(/^Labels:\s+role=worker$/m);
    expect(out).toMatch(/^API Version:\s+metal\.sidero\.dev\/v1alpha2$/m);
    expect(out).toMatch(/^Kind:\s+AdoptedServer$/m);
    expect(out).toMatch(/^Spec:$/m);
    expect(out).toMatch(/^\s+Endpoint:\s+192\.168\.1\.20:50000$/m);
    expect(out).toMatch(/^\s+Node Type:\s+worker$/m);
    expect(out).toMatch(/^Events:\s+<none>$/m);
  });

  it('lists a core v1 Event whose involvedObject points at the object', async () => {
    const obj = await getJSON(s, ['kc', 'alpha', '-n', NS]);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'alpha.scaled', namespace: NS },
      involvedObject: {
        apiVersion: 'vitistack.io/v1alpha1',
        kind: 'KubernetesCluster',
        name: 'alpha',
        namespace: NS,
        uid: obj.metadata.uid,
      },
      reason: 'ScalingUp',
      message: 'pool pool-a scaled from 2 to 3',
      type: 'Normal',
      source: { component: 'talos-fleet-controller' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    expect(await ok(s, ['create', '-f', '-'], { input: JSON.stringify(event) })).toBe('event/alpha.scaled created\n');
    // an event about another object with the same name must not show up
    const other = {
      ...event,
      metadata: { name: 'beta.other', namespace: NS },
      involvedObject: { ...event.involvedObject, name: 'beta', uid: 'x' },
      reason: 'Other',
    };
    await ok(s, ['create', '-f', '-'], { input: JSON.stringify(other) });

    const out = await ok(s, ['describe', 'kc', 'alpha', '-n', NS]);
    expect(out).toMatch(/^Spec:$/m);
    expect(out).toMatch(/^\s+Cluster Id:\s+alpha-id$/m);
    expect(out).toMatch(/^\s+Name:\s+pool-a$/m);
    const events = out.slice(out.indexOf('Events:'));
    expect(events).toMatch(/^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n/);
    expect(events).toMatch(/^\s+Normal\s+ScalingUp\s+\S+\s+talos-fleet-controller\s+pool pool-a scaled from 2 to 3$/m);
    expect(events).not.toContain('Other');
    // the events are listed by kubectl get events with an involvedObject field selector too
    const ev = await ok(s, [
      'get',
      'events',
      '-n',
      NS,
      '--field-selector',
      'involvedObject.name=alpha,involvedObject.kind=KubernetesCluster',
      '-o',
      'name',
    ]);
    expect(ev).toBe('event/alpha.scaled\n');
  });

  it('describes every object of a kind with a label selector', async () => {
    const out = await ok(s, ['describe', 'as', '-n', NS, '-l', 'site=osl']);
    expect(out.match(/^Name:/gm)).toHaveLength(2);
  });
});
