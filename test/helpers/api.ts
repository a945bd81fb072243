// Raw-HTTP helpers for the e2e API tests: Status assertions, object builders, a keep-alive client
// for bulk writes, and watch streams read line by line with bounded waits.
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { expect } from 'vitest';
import { parse } from 'yaml';
import type { RawResponse, TestServer } from './server.js';
import type { ClientHttp2Session } from 'node:http2';

export const AS_GV = '/apis/metal.sidero.dev/v1alpha2';
export const KC_GV = '/apis/vitistack.io/v1alpha1';

export const adoptedServers = (ns: string) => `${AS_GV}/namespaces/${ns}/adoptedservers`;
export const kubernetesClusters = (ns: string) => `${KC_GV}/namespaces/${ns}/kubernetesclusters`;

export const JSON_HDR = { 'Content-Type': 'application/json' };
export const MERGE_HDR = { 'Content-Type': 'application/merge-patch+json' };
export const JSONPATCH_HDR = { 'Content-Type': 'application/json-patch+json' };
export const TABLE_ACCEPT =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
export const POM_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
export const POML_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

export function adoptedServer(
  name: string,
  o: { labels?: Record<string, string>; nodeType?: string; extra?: Record<string, unknown> } = {},
) {
  return {
    apiVersion: 'metal.sidero.dev/v1alpha2',
    kind: 'AdoptedServer',
    metadata: { name, ...(o.labels ? { labels: o.labels } : {}), ...o.extra },
    spec: { talos: { endpoint: '10.0.0.1:50000', nodeType: o.nodeType ?? 'worker' } },
  };
}

export function kubernetesCluster(name: string, replicas = 1) {
  const data: Record<string, string> = {};
  for (const f of [
    'clusterUid',
    'clusterId',
    'provider',
    'environment',
    'datacenter',
    'project',
    'region',
    'workorder',
    'zone',
    'workspace',
  ]) {
    data[f] = `${f}-${name}`;
  }
  return {
    apiVersion: 'vitistack.io/v1alpha1',
    kind: 'KubernetesCluster',
    metadata: { name },
    spec: {
      data,
      topology: {
        version: '1.33.0',
        controlplane: { replicas, version: '1.33.0' },
        workers: [{ name: 'pool-a', replicas: 2, version: '1.33.0' }],
      },
    },
  };
}

/** asserts a Failure Status with the given code and reason and returns it */
export function expectStatus(r: RawResponse, code: number, reason: string): any {
  expect(r.status, r.body).toBe(code);
  expect(String(r.headers['content-type'])).toMatch(/^application\/json/);
  const s = r.json();
  expect(s).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
  expect(typeof s.message).toBe('string');
  expect(s.message.length).toBeGreaterThan(0);
  return s;
}

export async function createNamespace(s: TestServer, name: string): Promise<void> {
  const r = await s.request('POST', '/api/v1/namespaces', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
    headers: JSON_HDR,
  });
  expect(r.status, r.body).toBe(201);
}

export async function create(s: TestServer, path: string, obj: unknown, query = ''): Promise<any> {
  const r = await s.request('POST', path + query, { body: JSON.stringify(obj), headers: JSON_HDR });
  expect(r.status, r.body).toBe(201);
  return r.json();
}

/** the store revision a list is read at (it moves on every write anywhere in the store) */
export async function storeRevision(s: TestServer): Promise<string> {
  const r = await s.request('GET', '/api/v1/namespaces');
  expect(r.status, r.body).toBe(200);
  return r.json().metadata.resourceVersion;
}

export function names(list: { items: { metadata: { name: string } }[] }): string[] {
  return list.items.map((i) => i.metadata.name).sort();
}

interface Credentials {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export function credentials(s: TestServer): Credentials {
  const kc = parse(readFileSync(s.kubeconfig, 'utf8'));
  return {
    ca: Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64'),
    cert: Buffer.from(kc.users[0].user['client-certificate-data'], 'base64'),
    key: Buffer.from(kc.users[0].user['client-key-data'], 'base64'),
  };
}

/** a keep-alive client for many small requests (TestServer.request opens a TLS session per call) */
export function bulkClient(s: TestServer, maxSockets = 16) {
  const agent = new Agent({ keepAlive: true, maxSockets, ...credentials(s) });
  return {
    request(
      method: string,
      path: string,
      body?: string,
      headers: Record<string, string> = JSON_HDR,
    ): Promise<{ status: number; body: string }> {
      return new Promise((resolve, reject) => {
        const req = httpsRequest(new URL(path, s.url), { method, agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        req.on('error', reject);
        if (body !== undefined) req.write(body);
        req.end();
      });
    },
    close: () => agent.destroy(),
  };
}

export interface WatchEvent {
  type: string;
  object: any;
}

export interface WatchStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** every event received so far, in order */
  events: WatchEvent[];
  /** resolves with the first event at index >= from matching pred; rejects after ms */
  waitFor(pred: (ev: WatchEvent) => boolean, ms?: number, from?: number): Promise<WatchEvent>;
  /** resolves when the server ended the stream; rejects after ms */
  waitEnd(ms?: number): Promise<void>;
  close(): void;
}

/** opens a watch; a non-200 answer is returned with its body in `error` and no stream */
export function openWatch(s: TestServer, path: string, accept?: string): Promise<WatchStream & { error?: string }> {
  const creds = credentials(s);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, s.url),
      { method: 'GET', ...creds, headers: accept ? { Accept: accept } : {} },
      (res) => {
        const events: WatchEvent[] = [];
        const listeners = new Set<() => void>();
        let ended = false;
        let buf = '';
        const notify = () => listeners.forEach((l) => l());
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (line.trim() !== '') events.push(JSON.parse(line) as WatchEvent);
          }
          notify();
        });
        const finish = () => {
          ended = true;
          notify();
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
        const wait = <T>(check: () => T | undefined, ms: number, what: string): Promise<T> =>
          new Promise((ok, fail) => {
            const tryNow = () => {
              const v = check();
              if (v === undefined) return false;
              clearTimeout(timer);
              listeners.delete(listener);
              ok(v);
              return true;
            };
            const listener = () => void tryNow();
            const timer = setTimeout(() => {
              listeners.delete(listener);
              fail(
                new Error(
                  `timed out after ${ms} ms waiting for ${what}; events so far: ${JSON.stringify(events.map((e) => [e.type, e.object?.metadata?.name ?? e.object?.metadata?.resourceVersion ?? e.object?.message]))}`,
                ),
              );
            }, ms);
            listeners.add(listener);
            tryNow();
          });
        const stream: WatchStream & { error?: string } = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          events,
          waitFor(pred, ms = 5000, from = 0) {
            return wait(() => events.slice(from).find(pred), ms, 'a matching event');
          },
          waitEnd(ms = 5000) {
            return wait(() => (ended ? true : undefined), ms, 'the end of the stream').then(() => undefined);
          },
          close() {
            req.destroy();
          },
        };
        if (res.statusCode !== 200) {
          // a Status body: keep it whole for the caller's assertion message
          stream.waitEnd().then(() => {
            stream.error = events.length > 0 ? JSON.stringify(events[0]) : buf;
            resolve(stream);
          }, reject);
          return;
        }
        resolve(stream);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** one request on an HTTP/2 session, the whole answer read; `protocol` is what ALPN chose */
export function h2request(
  session: ClientHttp2Session,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: string; protocol: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ':method': method,
      ':path': path,
      ...(body ? { 'content-type': 'application/json' } : {}),
    });
    let status = 0;
    const chunks: Buffer[] = [];
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      resolve({ status, body: Buffer.concat(chunks).toString('utf8'), protocol: session.alpnProtocol ?? '' }),
    );
    req.on('error', reject);
    req.end(body);
  });
}
