// Graceful shutdown on SIGTERM, as kube-apiserver does it: /readyz fails first (for
// --shutdown-delay-duration), requests in flight finish, watches end cleanly, the process exits 0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../hack/talos-sim/simulator.js';
import { AS_GV, adoptedServer, createNamespace, JSON_HDR } from '../helpers/api.js';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let sim: Simulator;
const NS = 'bye';

beforeAll(async () => {
  sim = await startSimulator({ nodes: 1, controlPlanes: 1 });
  s = await startServer({
    args: ['--shutdown-delay-duration', '1s', '--talos-call-timeout', '3s', '--controllers', '*,-adoptedserver'],
  });
  await createNamespace(s, NS);
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'talos' },
    data: { talosconfig: Buffer.from(sim.talosconfigYaml).toString('base64') },
  };
  expect(
    (await s.request('POST', `/api/v1/namespaces/${NS}/secrets`, { body: JSON.stringify(secret), headers: JSON_HDR }))
      .status,
  ).toBe(201);
  const obj = adoptedServer('slow');
  Object.assign(obj.spec, {
    accepted: true,
    talos: { endpoint: sim.nodes()[0]!.endpoint, nodeType: 'controlplane', talosconfigSecretRef: { name: 'talos' } },
  });
  expect(
    (
      await s.request('POST', `${AS_GV}/namespaces/${NS}/adoptedservers`, {
        body: JSON.stringify(obj),
        headers: JSON_HDR,
      })
    ).status,
  ).toBe(201);
});

afterAll(async () => {
  await disposeServer(s);
  await sim?.stop();
});

describe('SIGTERM', () => {
  it('fails /readyz first, lets a slow request and a watch finish cleanly, and exits 0', async () => {
    await sim.inject(sim.nodes()[0]!.name, 'freeze');
    const watch = s.request('GET', `${AS_GV}/namespaces/${NS}/adoptedservers?watch=true`);
    // a request the frozen node keeps busy until the call deadline
    const slow = s.request('GET', `${AS_GV}/namespaces/${NS}/adoptedservers/slow/health`);
    // both requests are in the server before the signal: the watch has sent its first event
    const inServer = (m: string) =>
      /^apiserver_longrunning_requests\{verb="WATCH".*\} 1$/m.test(m) &&
      /^apiserver_current_inflight_requests\{request_kind="readOnly"\} [2-9]$/m.test(m);
    for (let i = 0; i < 200 && !inServer((await s.request('GET', '/metrics')).body); i++)
      await new Promise((r) => setImmediate(r));
    const exited = s.stop('SIGTERM');
    let readyz = 0;
    for (let i = 0; i < 200 && readyz !== 500; i++) readyz = (await s.request('GET', '/readyz')).status;
    expect(readyz).toBe(500);
    expect((await s.request('GET', '/livez')).status).toBe(200);
    const slowReply = await slow;
    expect(slowReply.status).toBe(504); // the node's verdict, not a connection torn down
    const watchReply = await watch;
    expect(watchReply.status).toBe(200);
    expect(watchReply.body).toContain('"type":"ADDED"');
    expect(await exited).toBe(0);
  });
});
