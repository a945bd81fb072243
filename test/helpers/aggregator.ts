// Plays kube-apiserver for cluster-mode tests, on loopback: a fake API server answering what an
// aggregated server asks it (the extension-apiserver-authentication ConfigMap and its watch,
// TokenReview, SubjectAccessReview, Namespaces, Secrets and their list+watch, Events) and
// recording every review; and
// an aggregator proxy that authenticates kubectl by its client certificate, resolves
// impersonation (--as, --as-group), and forwards to our server with the front-proxy certificate
// and X-Remote-* headers, as kube-apiserver's aggregation layer does.
import { createServer, request, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createCA, identityOf, issueCertificate, type PemPair } from '../../src/pki/devca.js';

export interface Review {
  kind: 'TokenReview' | 'SubjectAccessReview';
  spec: any;
}

export type Policy = (spec: any) => { allowed: boolean; denied?: boolean; reason?: string };

export interface Harness {
  kube: { url: string; kubeconfig: string };
  proxy: { url: string };
  frontProxyCA: PemPair;
  frontProxyClient: PemPair;
  clientCA: PemPair;
  reviews: Review[];
  events: any[];
  namespaces: Set<string>;
  secrets: Map<string, Record<string, string>>;
  /** labels of the Secrets in `secrets` (namespace/name), for list+watch label selectors */
  secretLabels: Map<string, Record<string, string>>;
  /** the query of every list and watch of /api/v1/secrets, in order */
  secretQueries: URLSearchParams[];
  /** stores a Secret and tells the watches of /api/v1/secrets it selects */
  putSecret(namespace: string, name: string, data: Record<string, string>, labels?: Record<string, string>): void;
  /** ends every watch of /api/v1/secrets with an ERROR 410 Expired, as a compacted version does */
  expireSecretWatches(): void;
  tokens: Map<string, { username: string; groups: string[] }>;
  policy: Policy;
  /** a kubeconfig for kubectl through the aggregator proxy, as user `name` with `groups` */
  kubeconfigFor(dir: string, name: string, groups: string[]): Promise<string>;
  /** a client certificate signed by `ca` */
  cert(ca: PemPair, subject: string): Promise<PemPair>;
  /** replaces the ConfigMap's data and tells watchers */
  setAuthenticationData(data: Record<string, string>): void;
  authenticationData(): Record<string, string>;
  /** where the proxy forwards to (our server's URL) */
  setBackend(url: string, ca: string): void;
  stop(): Promise<void>;
}

function body(req: IncomingMessage): Promise<any> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text ? JSON.parse(text) : undefined);
      } catch {
        resolve(text);
      }
    });
  });
}

function json(res: ServerResponse, code: number, value: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(value));
}

const notFound = (res: ServerResponse) =>
  json(res, 404, {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    reason: 'NotFound',
    code: 404,
    message: 'not found',
  });

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function startHarness(dir: string): Promise<Harness> {
  const kubeCA = await createCA('fake-kube-ca');
  const kubeServing = await issueCertificate(kubeCA, {
    subject: 'CN=kube-apiserver',
    usage: 'server',
    ipAddresses: ['127.0.0.1'],
    dnsNames: ['localhost'],
  });
  const frontProxyCA = await createCA('front-proxy-ca');
  const frontProxyClient = await issueCertificate(frontProxyCA, { subject: 'CN=front-proxy-client', usage: 'client' });
  const clientCA = await createCA('client-ca');
  const proxyUsers = await createCA('aggregator-users-ca');

  let authData: Record<string, string> = {
    'client-ca-file': clientCA.certPem,
    'requestheader-client-ca-file': frontProxyCA.certPem,
    'requestheader-allowed-names': '["front-proxy-client"]',
    'requestheader-username-headers': '["X-Remote-User"]',
    'requestheader-group-headers': '["X-Remote-Group"]',
    'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
  };
  let authVersion = 1;
  const watchers = new Set<ServerResponse>();
  const secretWatchers = new Map<ServerResponse, (labels: Record<string, string>) => boolean>();
  let secretVersion = 1;
  const secretObject = (key: string) => {
    const [namespace, name] = key.split('/');
    const labels = h.secretLabels.get(key);
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace, resourceVersion: String(secretVersion), ...(labels ? { labels } : {}) },
      data: h.secrets.get(key),
    };
  };
  /** equality requirements only (k=v,k2=v2): what the server's informers send */
  const selects = (selector: string | null) => (labels: Record<string, string>) =>
    (selector ?? '')
      .split(',')
      .filter(Boolean)
      .every((req) => {
        const [k, v] = req.split('=');
        return labels[k!] === v;
      });
  const configMap = () => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'extension-apiserver-authentication',
      namespace: 'kube-system',
      resourceVersion: String(authVersion),
    },
    data: authData,
  });

  const h: Harness = {
    kube: { url: '', kubeconfig: join(dir, 'kube.kubeconfig') },
    proxy: { url: '' },
    frontProxyCA,
    frontProxyClient,
    clientCA,
    reviews: [],
    events: [],
    namespaces: new Set(['default', 'kube-system']),
    secrets: new Map(),
    secretLabels: new Map(),
    secretQueries: [],
    putSecret(namespace, name, data, labels) {
      const key = `${namespace}/${name}`;
      const type = h.secrets.has(key) ? 'MODIFIED' : 'ADDED';
      h.secrets.set(key, data);
      if (labels) h.secretLabels.set(key, labels);
      secretVersion++;
      for (const [w, wants] of secretWatchers)
        if (wants(labels ?? {})) w.write(JSON.stringify({ type, object: secretObject(key) }) + '\n');
    },
    expireSecretWatches() {
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Expired',
        code: 410,
        message: 'too old resource version',
      };
      for (const w of secretWatchers.keys()) w.end(JSON.stringify({ type: 'ERROR', object: status }) + '\n');
      secretWatchers.clear();
    },
    tokens: new Map(),
    policy: () => ({ allowed: false }),
    async kubeconfigFor(d, name, groups) {
      const subject = [`CN=${name}`, ...groups.map((g) => `O=${g}`)].join(', ');
      const user = await issueCertificate(proxyUsers, { subject, usage: 'client' });
      const path = join(d, `${name}.kubeconfig`);
      writeFileSync(
        path,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          'current-context': 'aggregator',
          clusters: [
            {
              name: 'aggregator',
              cluster: {
                server: h.proxy.url,
                'certificate-authority-data': Buffer.from(kubeCA.certPem).toString('base64'),
              },
            },
          ],
          users: [
            {
              name,
              user: {
                'client-certificate-data': Buffer.from(user.certPem).toString('base64'),
                'client-key-data': Buffer.from(user.keyPem).toString('base64'),
              },
            },
          ],
          contexts: [{ name: 'aggregator', context: { cluster: 'aggregator', user: name, namespace: 'default' } }],
        }),
      );
      return path;
    },
    cert: (ca, subject) => issueCertificate(ca, { subject, usage: 'client' }),
    setAuthenticationData(data) {
      authData = data;
      authVersion++;
      for (const w of watchers) w.write(JSON.stringify({ type: 'MODIFIED', object: configMap() }) + '\n');
    },
    authenticationData: () => authData,
    setBackend(url, ca) {
      backend = { url, ca };
    },
    async stop() {
      for (const w of watchers) w.end();
      for (const w of secretWatchers.keys()) w.end();
      for (const s of [kube, proxy]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };

  const kube = createServer({ cert: kubeServing.certPem, key: kubeServing.keyPem }, (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'https://kube');
      const p = url.pathname;
      if (p === '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication')
        return json(res, 200, configMap());
      if (p === '/api/v1/namespaces/kube-system/configmaps' && url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        watchers.add(res);
        res.on('close', () => watchers.delete(res));
        return;
      }
      if (req.method === 'POST' && p === '/apis/authentication.k8s.io/v1/tokenreviews') {
        const review = await body(req);
        h.reviews.push({ kind: 'TokenReview', spec: review.spec });
        const u = h.tokens.get(review.spec.token);
        return json(res, 201, {
          ...review,
          status: u ? { authenticated: true, user: u } : { authenticated: false, error: 'unknown token' },
        });
      }
      if (req.method === 'POST' && p === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
        const review = await body(req);
        h.reviews.push({ kind: 'SubjectAccessReview', spec: review.spec });
        return json(res, 201, { ...review, status: h.policy(review.spec) });
      }
      if (p === '/api/v1/secrets' && req.method === 'GET') {
        h.secretQueries.push(url.searchParams);
        const wants = selects(url.searchParams.get('labelSelector'));
        if (url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true') {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.flushHeaders();
          secretWatchers.set(res, wants);
          res.on('close', () => secretWatchers.delete(res));
          return;
        }
        const items = [...h.secrets.keys()]
          .filter((k) => wants(h.secretLabels.get(k) ?? {}))
          .map(secretObject)
          .map(({ apiVersion: _v, kind: _k, ...rest }) => rest);
        return json(res, 200, {
          apiVersion: 'v1',
          kind: 'SecretList',
          metadata: { resourceVersion: String(secretVersion) },
          items,
        });
      }
      const ns = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(p);
      if (ns && req.method === 'GET') {
        return h.namespaces.has(ns[1]!)
          ? json(res, 200, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns[1] } })
          : notFound(res);
      }
      const secret = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(p);
      if (secret && req.method === 'GET') {
        const data = h.secrets.get(`${secret[1]}/${secret[2]}`);
        return data
          ? json(res, 200, {
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: { name: secret[2], namespace: secret[1] },
              data,
            })
          : notFound(res);
      }
      if (/^\/api\/v1\/namespaces\/[^/]+\/events(\/[^/]+)?$/.test(p)) {
        const ev = await body(req);
        h.events.push({ method: req.method, path: p, body: ev });
        return json(res, req.method === 'POST' ? 201 : 200, ev);
      }
      notFound(res);
    })();
  });
  h.kube.url = await listen(kube);
  writeFileSync(
    h.kube.kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'kube',
      clusters: [
        {
          name: 'kube',
          cluster: { server: h.kube.url, 'certificate-authority-data': Buffer.from(kubeCA.certPem).toString('base64') },
        },
      ],
      users: [{ name: 'talos-fleet-apiserver', user: { token: 'server-token' } }],
      contexts: [{ name: 'kube', context: { cluster: 'kube', user: 'talos-fleet-apiserver' } }],
    }),
  );

  // the aggregator: client certificate -> user, impersonation, then X-Remote-* over the proxy cert
  let backend = { url: '', ca: '' };
  const proxy = createServer(
    {
      cert: kubeServing.certPem,
      key: kubeServing.keyPem,
      ca: proxyUsers.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      const id = identityOf(`-----BEGIN CERTIFICATE-----\n${peer.raw.toString('base64')}\n-----END CERTIFICATE-----\n`);
      let user = id.commonName;
      let groups = id.organizations;
      const asUser = req.headers['impersonate-user'];
      if (typeof asUser === 'string') {
        user = asUser;
        groups = req.headersDistinct['impersonate-group'] ?? [];
      }
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headersDistinct)) {
        if (!v || /^(authorization|impersonate-|x-remote-|host$|connection$)/i.test(k)) continue;
        headers[k] = v;
      }
      headers['X-Remote-User'] = user;
      if (groups.length > 0) headers['X-Remote-Group'] = [...groups, 'system:authenticated'];
      else headers['X-Remote-Group'] = ['system:authenticated'];
      const target = new URL(req.url ?? '/', backend.url);
      const out = request(
        target,
        { method: req.method, headers, ca: backend.ca, cert: frontProxyClient.certPem, key: frontProxyClient.keyPem },
        (upstream) => {
          res.writeHead(upstream.statusCode ?? 502, upstream.headers);
          upstream.pipe(res);
        },
      );
      out.on('error', () => {
        if (!res.headersSent) res.writeHead(503, { 'Content-Type': 'text/plain' });
        res.end('service unavailable');
      });
      req.pipe(out);
    },
  );
  h.proxy.url = await listen(proxy);
  return h;
}
