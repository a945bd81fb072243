// Encryption at rest through the real server: secrets never reach the data directory in
// plaintext (a generated aesgcm key by default), survive restarts, and a rotated configuration
// (new key first, old key second) still reads what the old key wrote.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { disposeServer, startServer, type TestServer, SAMPLE_OBJECTS_ONLY } from '../helpers/server.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function storeContains(dataDir: string, needle: string): boolean {
  return filesUnder(join(dataDir, 'store')).some((f) => readFileSync(f).includes(Buffer.from(needle)));
}

let s: TestServer | undefined;
afterAll(async () => {
  await disposeServer(s);
});

describe('encryption at rest', () => {
  it('stores secrets encrypted with a generated key and other kinds as they are', async () => {
    s = await startServer({ args: SAMPLE_OBJECTS_ONLY });
    const r = await s.kubectl(['create', 'secret', 'generic', 'db', '--from-literal=password=plain-marker-7f3a9']);
    expect(r.code, r.stderr).toBe(0);
    const as = await s.kubectl(['create', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'metal.sidero.dev/v1alpha2',
        kind: 'AdoptedServer',
        metadata: { name: 'visible' },
        spec: { talos: { endpoint: '127.0.0.1:50000', nodeType: 'worker', hostname: 'visible-marker-41c2' } },
      }),
    });
    expect(as.code, as.stderr).toBe(0);
    expect(storeContains(s.dataDir, 'visible-marker-41c2')).toBe(true); // the search does find plaintext
    expect(storeContains(s.dataDir, 'plain-marker-7f3a9')).toBe(false);
    expect(storeContains(s.dataDir, Buffer.from('plain-marker-7f3a9').toString('base64'))).toBe(false);
    expect(storeContains(s.dataDir, 'k8s:enc:aesgcm:v1:key1:')).toBe(true);
    const config = readFileSync(join(s.dataDir, 'encryption-config.yaml'), 'utf8');
    expect(statSync(join(s.dataDir, 'encryption-config.yaml')).mode & 0o777).toBe(0o600);
    expect(parse(config).resources[0].providers[0].aesgcm.keys[0].name).toBe('key1');
  });

  it('reads old secrets after a restart with a rotated key, and writes new ones with the new key', async () => {
    const dataDir = s!.dataDir;
    await s!.stop();
    const old = parse(readFileSync(join(dataDir, 'encryption-config.yaml'), 'utf8'));
    const rotated = {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'EncryptionConfiguration',
      resources: [
        {
          resources: ['secrets'],
          providers: [
            {
              aesgcm: {
                keys: [
                  { name: 'key2', secret: Buffer.alloc(32, 7).toString('base64') },
                  old.resources[0].providers[0].aesgcm.keys[0],
                ],
              },
            },
            { identity: {} },
          ],
        },
      ],
    };
    const path = join(dataDir, 'rotated.yaml');
    writeFileSync(path, JSON.stringify(rotated), { mode: 0o600 });
    s = await startServer({ dataDir, args: ['--encryption-provider-config', path, ...SAMPLE_OBJECTS_ONLY] });
    const got = await s.kubectl(['get', 'secret', 'db', '-o', 'jsonpath={.data.password}']);
    expect(Buffer.from(got.stdout, 'base64').toString()).toBe('plain-marker-7f3a9');
    expect((await s.kubectl(['create', 'secret', 'generic', 'db2', '--from-literal=k=second-marker-99'])).code).toBe(0);
    expect(storeContains(dataDir, 'k8s:enc:aesgcm:v1:key2:')).toBe(true);
    expect(storeContains(dataDir, 'second-marker-99')).toBe(false);
  });
});
