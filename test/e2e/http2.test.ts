// HTTP/2, as kube-apiserver's aggregator speaks it: many requests, watches included, multiplexed
// over one TLS connection with the client certificate verified once; HTTP/1.1 keeps working.
import { connect, type ClientHttp2Session } from 'node:http2';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AS_GV, adoptedServer, createNamespace, h2request } from '../helpers/api.js';
import { disposeServer, SAMPLE_OBJECTS_ONLY, startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let session: ClientHttp2Session;
const NS = 'h2';

function identity(dataDir: string) {
  const kc = parse(readFileSync(join(dataDir, 'admin.kubeconfig'), 'utf8'));
  return {
    ca: readFileSync(join(dataDir, 'pki', 'ca.crt')),
    cert: Buffer.from(kc.users[0].user['client-certificate-data'], 'base64'),
    key: Buffer.from(kc.users[0].user['client-key-data'], 'base64'),
  };
}

const h2 = (method: string, path: string, body?: string) => h2request(session, method, path, body);

beforeAll(async () => {
  s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
  await createNamespace(s, NS);
  session = connect(s.url, identity(s.dataDir));
});

afterAll(async () => {
  session?.close();
  await disposeServer(s);
});

describe('HTTP/2', () => {
  it('negotiates h2 and authenticates the client certificate', async () => {
    const r = await h2('GET', `${AS_GV}/namespaces/${NS}/adoptedservers`);
    expect(r.protocol).toBe('h2');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).kind).toBe('AdoptedServerList');
  });

  it('multiplexes 200 watches and the writes they see over one connection', async () => {
    const watches = Array.from({ length: 200 }, () => {
      const req = session.request({
        ':method': 'GET',
        ':path': `${AS_GV}/namespaces/${NS}/adoptedservers?watch=true&fieldSelector=metadata.name%3Dm1`,
      });
      let text = '';
      req.setEncoding('utf8');
      const added = new Promise<void>((resolve, reject) => {
        req.on('data', (c: string) => {
          text += c;
          if (text.includes('"type":"ADDED"')) resolve();
        });
        req.on('error', reject);
      });
      return { req, added };
    });
    // every watch is open (each sent its headers) before the object is written
    await Promise.all(watches.map((w) => new Promise((r) => w.req.once('response', r))));
    const created = await h2('POST', `${AS_GV}/namespaces/${NS}/adoptedservers`, JSON.stringify(adoptedServer('m1')));
    expect(created.status).toBe(201);
    await Promise.all(watches.map((w) => w.added));
    for (const w of watches) w.req.close();
  });

  it('HTTP/1.1 clients are still served', async () => {
    expect((await s.request('GET', `${AS_GV}/namespaces/${NS}/adoptedservers/m1`)).status).toBe(200);
  });
});
