// The boot listener in cluster mode: Servers live in our own store, the Machine's config Secret in
// kube-apiserver's (the harness of test/helpers/aggregator.ts plays it); /configdata serves those
// exact bytes to the registered address of the bound server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/aggregator.js';
import { bootURLOf, call } from '../helpers/boot.js';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { tempDir } from './kubectl-helpers.js';

const tmp = tempDir();
let h: Harness;
let s: TestServer;
let boot: string;
const UUID = '4c4c4544-0030-4d10-8052-b3c04f4e4141';

async function kubectlAdmin(args: string[]) {
  const kc = await h.kubeconfigFor(tmp.dir, 'admin', ['system:masters']);
  return s.kubectl(args, { env: { KUBECONFIG: kc } });
}

beforeAll(async () => {
  h = await startHarness(tmp.dir);
  s = await startServer({
    args: [
      ...['--kubeconfig', h.kube.kubeconfig, '--controllers', 'namespace'],
      ...['--boot-port', '0', '--boot-allowed-networks', '127.0.0.0/8', '--auto-accept-servers'],
    ],
  });
  h.setBackend(s.url, readFileSync(join(s.dataDir, 'pki', 'ca.crt'), 'utf8'));
  boot = bootURLOf(s);
}, 90_000);

afterAll(async () => {
  await disposeServer(s);
  await h?.stop();
  tmp.remove();
});

it("serves the config from kube-apiserver's Secret to the bound server's registered address only", async () => {
  const reg = await call(boot, 'POST', '/agent/register', {
    from: '127.0.0.7',
    body: { uuid: UUID, addresses: [{ type: 'InternalIP', address: '127.0.0.7' }] },
  });
  expect(reg.status, reg.text).toBe(201);
  const config = Buffer.from('version: v1alpha1\nmachine:\n  token: cluster-mode-secret\n');
  h.putSecret('fleet', 'w1-machineconfig', { 'machineconfig.yaml': config.toString('base64') });

  expect((await call(boot, 'GET', `/configdata?uuid=${UUID}`, { from: '127.0.0.7' })).status).toBe(404);
  const annotated = await kubectlAdmin(['annotate', 'server', UUID, 'metal.sidero.dev/machine=fleet/w1']);
  expect(annotated.code, annotated.stderr).toBe(0);

  const elsewhere = await call(boot, 'GET', `/configdata?uuid=${UUID}`, { from: '127.0.0.8' });
  expect(elsewhere.status).toBe(403);
  expect(elsewhere.text).not.toContain('cluster-mode-secret');
  const served = await call(boot, 'GET', `/configdata?uuid=${UUID}`, { from: '127.0.0.7' });
  expect(served.status, served.text).toBe(200);
  expect(served.bytes.equals(config)).toBe(true);

  // a Machine whose Secret kube-apiserver does not have: 404, nothing served
  const rebound = await kubectlAdmin(['annotate', '--overwrite', 'server', UUID, 'metal.sidero.dev/machine=fleet/w2']);
  expect(rebound.code, rebound.stderr).toBe(0);
  const missing = await call(boot, 'GET', `/configdata?uuid=${UUID}`, { from: '127.0.0.7' });
  expect(missing.status).toBe(404);
  expect(missing.json().message).toBe('the config of machine fleet/w2 is not generated yet');
});
