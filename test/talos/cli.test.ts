// The simulator as a process (`node dist/hack/talos-sim/main.js`, built by `npm run build`):
// files appear once it listens, the talosconfig works against every node, control.json drives
// faults, SIGTERM stops it and removes its files; --secrets makes it trust a given OS CA.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createOsCA, issueClientCert, talosKeyLabel } from '../../hack/talos-sim/pki.js';
import { TalosClient } from '../../src/talos/client.js';
import { parseTalosconfig } from '../../src/talos/talosconfig.js';
import { expectFailure, pollUntil } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'dist/hack/talos-sim/main.js');

interface Run {
  proc: ChildProcess;
  dir: string;
  output: () => string;
}

const runs: Run[] = [];
const clients: TalosClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const r of runs.splice(0)) {
    if (r.proc.exitCode === null && r.proc.signalCode === null) {
      r.proc.kill('SIGKILL');
      await once(r.proc, 'exit');
    }
    await rm(r.dir, { recursive: true, force: true });
  }
});

async function run(args: string[]): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), 'talos-sim-cli-'));
  const proc = spawn(process.execPath, [MAIN, ...args.map((a) => a.replace('$DIR', dir))], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const r = { proc, dir, output: () => out };
  runs.push(r);
  return r;
}

async function started(r: Run): Promise<{ name: string; endpoint: string; role: string; version: string }[]> {
  const file = join(r.dir, 'nodes.json');
  await pollUntil(
    'nodes.json',
    async () => {
      if (r.proc.exitCode !== null) throw new Error(`simulator exited early: ${r.output()}`);
      return existsSync(file) ? true : undefined;
    },
    30_000,
    50,
  );
  return JSON.parse(await readFile(file, 'utf8'));
}

async function exitOf(r: Run): Promise<number | null> {
  if (r.proc.exitCode !== null) return r.proc.exitCode;
  const [code] = (await once(r.proc, 'exit')) as [number | null];
  return code;
}

describe('talos-sim CLI', () => {
  it('runs 3 nodes, serves the talosconfig on all, obeys control.json, stops cleanly on SIGTERM', async () => {
    const r = await run(['--nodes', '3', '--controlplanes', '1', '--dir', '$DIR', '--reboot-seconds', '1']);
    const nodes = await started(r);
    expect(nodes.map((n) => [n.name, n.role, n.version])).toEqual([
      ['talos-sim-cp-1', 'controlplane', 'v1.13.9'],
      ['talos-sim-worker-1', 'worker', 'v1.13.9'],
      ['talos-sim-worker-2', 'worker', 'v1.13.9'],
    ]);
    const config = parseTalosconfig(await readFile(join(r.dir, 'talosconfig'), 'utf8'));
    expect(config.contexts[config.context]?.endpoints).toEqual(nodes.map((n) => n.endpoint));
    for (const n of nodes) {
      const c = TalosClient.fromTalosconfig(config, { endpoint: n.endpoint });
      clients.push(c);
      expect(await c.hostname()).toBe(n.name);
    }

    const { url } = JSON.parse(await readFile(join(r.dir, 'control.json'), 'utf8')) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const stopped = await fetch(`${url}/nodes/talos-sim-worker-2/stop`, { method: 'POST' });
    expect(stopped.status).toBe(200);
    await expectFailure(clients[2]!.version(), 'Unreachable', 503);
    const state = (await (await fetch(`${url}/state`)).json()) as { nodes: { name: string; listening: boolean }[] };
    expect(state.nodes.find((n) => n.name === 'talos-sim-worker-2')?.listening).toBe(false);

    r.proc.kill('SIGTERM');
    expect(await exitOf(r)).toBe(0);
    expect(r.output()).toContain('SIGTERM, stopping');
    for (const f of ['nodes.json', 'control.json', 'talosconfig']) expect(existsSync(join(r.dir, f)), f).toBe(false);
    await expectFailure(clients[0]!.version({ timeoutMs: 2_000 }), 'Unreachable', 503);
  });

  it('--secrets: the nodes trust the bundle OS CA and sign with its key', async () => {
    const ca = await createOsCA();
    const bundle = stringify({
      cluster: { id: 'c2ltdWxhdGVk', secret: 'c2VjcmV0' },
      certs: {
        os: {
          crt: Buffer.from(ca.certPem).toString('base64'),
          key: Buffer.from(talosKeyLabel(ca.keyPem, 'ed25519')).toString('base64'),
        },
      },
    });
    const secretsDir = await mkdtemp(join(tmpdir(), 'talos-secrets-'));
    try {
      const secrets = join(secretsDir, 'secrets.yaml');
      await writeFile(secrets, bundle, { mode: 0o600 });
      const r = await run(['--nodes', '2', '--dir', '$DIR', '--secrets', secrets]);
      const nodes = await started(r);
      const config = parseTalosconfig(await readFile(join(r.dir, 'talosconfig'), 'utf8'));
      expect(config.contexts[config.context]?.ca.trim()).toBe(ca.certPem.trim());
      // a client cert we sign ourselves with the bundle's key is accepted: the node trusts that CA
      const ours = await issueClientCert(ca, ['os:admin']);
      for (const n of nodes) {
        const c = new TalosClient({ endpoint: n.endpoint, ca: ca.certPem, crt: ours.certPem, key: ours.keyPem });
        clients.push(c);
        expect(await c.hostname()).toBe(n.name);
      }
      r.proc.kill('SIGINT');
      expect(await exitOf(r)).toBe(0);
    } finally {
      await rm(secretsDir, { recursive: true, force: true });
    }
  });

  it.each([
    [['--dir', '/tmp/x'], '--nodes is required'],
    [['--nodes', 'three', '--dir', '/tmp/x'], '--nodes must be a whole number'],
    [['--nodes', '1'], '--dir is required'],
    [['--nodes', '1', '--dir', '/tmp/x', '--bogus'], "Unknown option '--bogus'"],
    [['--nodes', '0', '--bare-metal', '2', '--dir', '/tmp/x'], '--bare-metal needs --boot-url'],
    [['--nodes', '1', '--boot-url', 'http://127.0.0.1:9', '--dir', '/tmp/x'], '--boot-url, --boot-attempts'],
  ])('bad flags %j -> usage and exit 2', async (args, message) => {
    const r = await run(args);
    expect(await exitOf(r)).toBe(2);
    expect(r.output()).toContain(message);
    expect(r.output()).toContain('usage: talos-sim');
  });

  it('--bare-metal: machines that are off, each with a Redfish BMC whose credentials GET /state shows', async () => {
    const r = await run([
      '--maintenance',
      '--nodes',
      '0',
      '--bare-metal',
      '2',
      '--boot-url',
      'http://127.0.0.1:9',
      '--dir',
      '$DIR',
    ]);
    const nodes = (await started(r)) as unknown as { id: string; bareMetal: boolean }[];
    expect(nodes.map((n) => [n.id, n.bareMetal])).toEqual([
      ['metal-0', true],
      ['metal-1', true],
    ]);
    const control = JSON.parse(await readFile(join(r.dir, 'control.json'), 'utf8')) as { url: string };
    const state = (await (await fetch(`${control.url}/state`)).json()) as { bareMetal: Record<string, any>[] };
    expect(state.bareMetal).toHaveLength(2);
    for (const m of state.bareMetal) {
      expect(m).toMatchObject({ power: 'off', booted: null, tokenHeld: false });
      expect(m['uuid']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      const auth = Buffer.from(`${m['bmc'].user}:${m['bmc'].pass}`).toString('base64');
      const system = await fetch(`${m['bmc'].url}/redfish/v1/Systems/node-1`, {
        headers: { Authorization: `Basic ${auth}` },
      });
      expect(((await system.json()) as { PowerState: string }).PowerState).toBe('Off');
    }
    expect(r.output()).toContain('Redfish BMC http://127.0.0.1:');
    r.proc.kill('SIGTERM');
    expect(await exitOf(r)).toBe(0);
  });

  it('--bare-metal with a boot URL that is not http:// -> exit 1 with the reason', async () => {
    const r = await run([
      '--maintenance',
      '--nodes',
      '0',
      '--bare-metal',
      '1',
      '--boot-url',
      'ftp://127.0.0.1/',
      '--dir',
      '$DIR',
    ]);
    expect(await exitOf(r)).toBe(1);
    expect(r.output()).toContain('bootURL must be http://');
  });

  it('a broken secrets file -> exit 1 with the reason', async () => {
    const r = await run(['--nodes', '1', '--dir', '$DIR', '--secrets', join(tmpdir(), 'does-not-exist-secrets.yaml')]);
    expect(await exitOf(r)).toBe(1);
    expect(r.output()).toContain('ENOENT');
  });
});
