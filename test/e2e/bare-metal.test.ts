// Bare metal through kubectl against the built server: Servers with hardware, ServerClass
// qualifiers and availability (cordon, the binding annotation), the Server finalizer holding an
// allocated server's deletion, inline BMC credentials refused, and Environments fetched from
// file:// into the cache with their checksums verified.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus, JSON_HDR } from '../helpers/api.js';
import { disposeServer, startServer, type TestServer } from '../helpers/server.js';
import { eventually, getJSON, ok, tempDir } from './kubectl-helpers.js';

let s: TestServer;
const files = tempDir();

beforeAll(async () => {
  // retries of failed downloads come quickly; the default Environment's upstream is never reachable here
  s = await startServer({ args: ['--controller-max-backoff', '200ms'] });
});

afterAll(async () => {
  await disposeServer(s);
  files.remove();
});

const server = (name: string, manufacturer: string, extra = '') => `apiVersion: metal.sidero.dev/v1alpha2
kind: Server
metadata:
  name: ${name}
spec:
  accepted: true
  hardware:
    system:
      manufacturer: ${manufacturer}
    compute:
      processors:
        - productName: EPYC 7302
          coreCount: 16
${extra}`;

const classStatus = async (name: string) => {
  const c = await getJSON(s, ['serverclass', name]);
  return c?.status ? { available: c.status.serversAvailable ?? [], inUse: c.status.serversInUse ?? [] } : undefined;
};

/** polls until the class's status is exactly `want` */
async function classIs(name: string, want: { available: string[]; inUse: string[] }) {
  await eventually(
    async () => {
      const got = await classStatus(name);
      return JSON.stringify(got) === JSON.stringify(want) ? true : undefined;
    },
    `class ${name} to be ${JSON.stringify(want)}`,
  );
}

describe('servers and classes', () => {
  it('a class holds the accepted servers its hardware qualifiers match; `any` holds all', async () => {
    await ok(s, ['apply', '-f', '-'], {
      input: [server('bm-1', 'Dell Inc.'), server('bm-2', 'Dell Inc.'), server('bm-3', 'HPE')].join('---\n'),
    });
    await ok(s, ['apply', '-f', '-'], {
      input: `apiVersion: metal.sidero.dev/v1alpha2
kind: ServerClass
metadata:
  name: dell-epyc
spec:
  qualifiers:
    hardware:
      - system:
          manufacturer: Dell Inc.
        compute:
          processors:
            - productName: EPYC 7302
`,
    });
    await classIs('dell-epyc', { available: ['bm-1', 'bm-2'], inUse: [] });
    await classIs('any', { available: ['bm-1', 'bm-2', 'bm-3'], inUse: [] });
    const bm1 = await getJSON(s, ['server', 'bm-1']);
    expect(bm1.metadata.finalizers).toContain('storage.finalizers.server.k8s.io');
    // no BMC: power is `on`, as Sidero reports it; not clean yet, so not ready
    await eventually(async () => {
      const st = (await getJSON(s, ['server', 'bm-1'])).status;
      return st?.power === 'on' ? st : undefined;
    }, 'bm-1 status');
  });

  it('the class `any` comes back when deleted, and its qualifiers are kept empty', async () => {
    await ok(s, [
      'patch',
      'serverclass',
      'any',
      '--type=merge',
      '-p',
      '{"spec":{"qualifiers":{"labelSelectors":[{"a":"b"}]}}}',
    ]);
    await eventually(async () => {
      const c = await getJSON(s, ['serverclass', 'any']);
      return c.spec.qualifiers.labelSelectors === undefined ? true : undefined;
    }, 'qualifiers reset');
    await ok(s, ['delete', 'serverclass', 'any']);
    await classIs('any', { available: ['bm-1', 'bm-2', 'bm-3'], inUse: [] });
  });

  it('a cordoned server leaves the class', async () => {
    await ok(s, ['patch', 'server', 'bm-2', '--type=merge', '-p', '{"spec":{"cordoned":true}}']);
    await classIs('dell-epyc', { available: ['bm-1'], inUse: [] });
  });

  it('the binding annotation moves a server to serversInUse and sets status.inUse', async () => {
    await ok(s, ['annotate', 'server', 'bm-1', 'metal.sidero.dev/machine=default/m-1']);
    await classIs('dell-epyc', { available: [], inUse: ['bm-1'] });
    await eventually(
      async () => ((await getJSON(s, ['server', 'bm-1'])).status?.inUse === true ? true : undefined),
      'inUse',
    );
  });

  it('deleting an allocated server is held until the binding goes; a free one goes at once', async () => {
    await ok(s, ['delete', 'server', 'bm-1', '--wait=false']);
    const held = await eventually(async () => {
      const obj = await getJSON(s, ['server', 'bm-1']);
      const c = obj?.status?.conditions?.find((x: any) => x.type === 'DeletionHeld');
      return c ? { obj, c } : undefined;
    }, 'DeletionHeld');
    expect(held.obj.metadata.deletionTimestamp).toBeTruthy();
    expect(held.c).toMatchObject({ status: 'True', reason: 'Allocated' });
    expect(held.c.message).toContain('default/m-1');
    const events = await ok(s, [
      'get',
      'events',
      '-n',
      'default',
      '--field-selector',
      'involvedObject.name=bm-1',
      '-o',
      'json',
    ]);
    expect(JSON.parse(events).items.map((e: any) => e.reason)).toContain('DeletionHeld');
    // still in use while held
    await classIs('dell-epyc', { available: [], inUse: ['bm-1'] });

    await ok(s, ['annotate', 'server', 'bm-1', 'metal.sidero.dev/machine-']);
    await eventually(
      async () => ((await getJSON(s, ['server', 'bm-1'])) === undefined ? true : undefined),
      'bm-1 gone',
    );
    await classIs('dell-epyc', { available: [], inUse: [] });

    await ok(s, ['delete', 'server', 'bm-3', '--timeout=20s']);
    expect(await getJSON(s, ['server', 'bm-3'])).toBeUndefined();
    await classIs('any', { available: [], inUse: [] });
  });
});

describe('BMC credentials', () => {
  it('an inline spec.bmc.pass is refused with a 422 that says where to put it', async () => {
    const r = await s.kubectl(['apply', '-f', '-'], {
      input: server('bm-inline', 'Dell Inc.', `  bmc:\n    endpoint: 10.0.0.9\n    user: admin\n    pass: hunter2\n`),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.bmc\.pass: Forbidden: .*Secret.*spec\.bmc\.passFrom\.secretKeyRef/);
    expect(r.stderr).not.toContain('hunter2');
    const raw = await s.request('POST', '/apis/metal.sidero.dev/v1alpha2/servers', {
      headers: JSON_HDR,
      body: JSON.stringify({
        apiVersion: 'metal.sidero.dev/v1alpha2',
        kind: 'Server',
        metadata: { name: 'bm-inline' },
        spec: { accepted: false, bmc: { endpoint: '10.0.0.9', pass: 'hunter2' } },
      }),
    });
    const st = expectStatus(raw, 422, 'Invalid');
    expect(st.details.causes).toEqual([
      expect.objectContaining({ field: 'spec.bmc.pass', reason: 'FieldValueForbidden' }),
    ]);
    expect(await getJSON(s, ['server', 'bm-inline'])).toBeUndefined();
  });

  it('credentials from Secrets are accepted, and an update adding an inline user is refused', async () => {
    await ok(s, ['apply', '-f', '-'], {
      input: server(
        'bm-secret',
        'HPE',
        `  bmc:\n    endpoint: 10.0.0.9\n    passFrom:\n      secretKeyRef: {namespace: default, name: bm-secret-bmc, key: pass}\n`,
      ),
    });
    const r = await s.kubectl([
      'patch',
      'server',
      'bm-secret',
      '--type=merge',
      '-p',
      '{"spec":{"bmc":{"user":"root"}}}',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.bmc\.user: Forbidden: .*spec\.bmc\.userFrom\.secretKeyRef/);
    expect((await getJSON(s, ['server', 'bm-secret'])).spec.bmc.user).toBeUndefined();
  });
});

describe('environments', () => {
  const kernel = Buffer.from('not really a kernel\n'.repeat(1000));
  const initrd = Buffer.from('not really an initramfs\n'.repeat(1000));
  const sha = (b: Buffer) => createHash('sha512').update(b).digest('hex');
  const env = (
    name: string,
    o: { kernelSha?: string; kernelURL?: string } = {},
  ) => `apiVersion: metal.sidero.dev/v1alpha2
kind: Environment
metadata:
  name: ${name}
spec:
  kernel:
    url: ${o.kernelURL ?? pathToFileURL(files.write('vmlinuz', kernel.toString())).href}
    sha512: ${o.kernelSha ?? sha(kernel)}
    args: [console=ttyS0]
  initrd:
    url: ${pathToFileURL(files.write('initramfs.xz', initrd.toString())).href}
    sha512: ${sha(initrd)}
`;
  const conditions = async (name: string, n = 2) =>
    eventually(async () => {
      const c = (await getJSON(s, ['environment', name]))?.status?.conditions;
      return c?.length === n ? c : undefined;
    }, `${name} conditions`);

  it('an Environment of file:// URLs is fetched into the cache and becomes Ready', async () => {
    await ok(s, ['apply', '-f', '-'], { input: env('env-file') });
    const c = await conditions('env-file');
    expect(c.map((x: any) => [x.type, x.status])).toEqual([
      ['Ready', 'True'],
      ['Ready', 'True'],
    ]);
    const dir = join(s.dataDir, 'environments', 'env-file');
    expect(readFileSync(join(dir, 'vmlinuz'))).toEqual(kernel);
    expect(readFileSync(join(dir, 'initramfs.xz'))).toEqual(initrd);
  });

  it('an asset cached and verified is not fetched again when the spec changes elsewhere', async () => {
    // the kernel's source changes under it: fetching it again would now fail its checksum
    files.write('vmlinuz', 'changed since\n');
    const initrdURL = pathToFileURL(files.write('initramfs-2.xz', initrd.toString())).href;
    await ok(s, [
      'patch',
      'environment',
      'env-file',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { initrd: { url: initrdURL } } }),
    ]);
    const c = await eventually(async () => {
      const cs = (await getJSON(s, ['environment', 'env-file'])).status.conditions;
      return cs.some((x: any) => x.url === initrdURL) ? cs : undefined;
    }, 'the new initrd fetched');
    expect(c.map((x: any) => [x.status, x.reason])).toEqual([
      ['True', undefined],
      ['True', undefined],
    ]);
    expect(readFileSync(join(s.dataDir, 'environments', 'env-file', 'vmlinuz'))).toEqual(kernel);
    files.write('vmlinuz', kernel.toString());
  });

  it('a wrong checksum gives Ready=False ChecksumMismatch and leaves nothing in the cache', async () => {
    await ok(s, ['apply', '-f', '-'], { input: env('env-bad-sum', { kernelSha: 'ab'.repeat(64) }) });
    const c = await eventually(async () => {
      const cs = (await getJSON(s, ['environment', 'env-bad-sum']))?.status?.conditions;
      return cs?.find((x: any) => x.reason === 'ChecksumMismatch');
    }, 'ChecksumMismatch');
    expect(c).toMatchObject({ type: 'Ready', status: 'False' });
    expect(c.message).toContain('SHA-512');
    expect(existsSync(join(s.dataDir, 'environments', 'env-bad-sum', 'vmlinuz'))).toBe(false);
  });

  it('an http host outside --allowed-outbound-networks is refused as OutboundNotAllowed', async () => {
    await ok(s, ['apply', '-f', '-'], { input: env('env-far', { kernelURL: 'http://192.0.2.10/vmlinuz' }) });
    const c = await eventually(async () => {
      const cs = (await getJSON(s, ['environment', 'env-far']))?.status?.conditions;
      return cs?.find((x: any) => x.reason === 'OutboundNotAllowed');
    }, 'OutboundNotAllowed');
    expect(c.message).toMatch(/192\.0\.2\.10.*no connection was made/);
  });

  it('the default Environment is created with the Talos release of the server', async () => {
    const d = await eventually(async () => getJSON(s, ['environment', 'default']), 'default Environment');
    expect(d.spec.kernel.url).toMatch(
      /^https:\/\/github\.com\/siderolabs\/talos\/releases\/download\/v[\d.]+\/vmlinuz-amd64$/,
    );
    expect(d.spec.kernel.args).toContain('talos.platform=metal');
  });
});
