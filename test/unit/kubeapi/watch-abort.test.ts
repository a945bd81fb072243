// KubeAPI.watch stops when its signal fires, also when the signal fired while the server had not
// answered yet (the 'abort' event is then gone before the stream exists): the watch ends instead
// of holding the stream open until the server closes it.
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createCA, issue } from '../../../hack/talos-sim/pki.js';
import { KubeAPI } from '../../../src/kubeapi/client.js';
import { tempDir } from '../../e2e/kubectl-helpers.js';

const tmp = tempDir();
let server: ReturnType<typeof createServer>;
let kubeconfig: string;
/** watch requests waiting for their answer */
const held: ServerResponse[] = [];

beforeAll(async () => {
  const ca = await createCA('test', 'ecdsa');
  const pair = await issue(ca, {
    subject: 'CN=kube',
    eku: ['serverAuth'],
    ipAddresses: ['127.0.0.1'],
    lifetimeMs: 3_600_000,
  });
  server = createServer({ cert: pair.certPem, key: pair.keyPem }, (_req, res) => held.push(res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  kubeconfig = join(tmp.dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'c',
      clusters: [
        {
          name: 'c',
          cluster: {
            server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
            'certificate-authority-data': Buffer.from(ca.certPem).toString('base64'),
          },
        },
      ],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    }),
  );
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  tmp.remove();
});

it('a watch aborted before the server answered ends once the answer arrives', async () => {
  const api = KubeAPI.load({ file: kubeconfig });
  const abort = new AbortController();
  const arrived = new Promise<void>((resolve) => server.once('request', () => resolve()));
  const watching = api.watch('/apis/x/v1/things?watch=true', () => false, abort.signal);
  await arrived;
  abort.abort();
  // the server now answers and keeps the stream open, as a quiet watch does
  const res = held.shift()!;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.flushHeaders();
  expect(await watching).toBe('ended');
});

it('a watch aborted while streaming ends', async () => {
  const api = KubeAPI.load({ file: kubeconfig });
  const abort = new AbortController();
  const events: string[] = [];
  const arrived = new Promise<void>((resolve) => server.once('request', () => resolve()));
  const watching = api.watch(
    '/apis/x/v1/things?watch=true',
    (ev) => {
      events.push(ev.type);
      abort.abort();
      return false;
    },
    abort.signal,
  );
  await arrived;
  const res = held.shift()!;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } })}\n`);
  expect(await watching).toBe('ended');
  expect(events).toEqual(['ADDED']);
});

it('a stream whose answer does not begin within answerWithinMs fails, naming the API server; one that does is not cut while quiet', async () => {
  const api = KubeAPI.load({ file: kubeconfig });
  const port = (server.address() as AddressInfo).port;
  await expect(api.stream('GET', '/apis/x/v1/things', { answerWithinMs: 100 })).rejects.toThrow(
    `cannot reach the API server at https://127.0.0.1:${port}: no answer within 100 ms`,
  );
  held.shift()?.destroy();
  const arrived = new Promise<void>((resolve) => server.once('request', () => resolve()));
  const streaming = api.stream('GET', '/apis/x/v1/things?watch=true', { answerWithinMs: 100 });
  await arrived;
  const res = held.shift()!;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.flushHeaders();
  const up = await streaming;
  // quiet for longer than the answer's deadline: still open
  const ended = new Promise<void>((resolve) => up.once('end', () => resolve()));
  await new Promise((r) => setTimeout(r, 200));
  expect(up.destroyed).toBe(false);
  res.end(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } })}\n`);
  up.resume();
  await ended;
});
