// `kubectl talos dashboard` in a real browser (Debian's chromium through playwright-core) against
// the built server and simulated Talos nodes: what a person sees. The fleet listed, a node that
// turns unhealthy going red without a reload, per-object detail with conditions and events, the
// adopt form creating an AdoptedServer (and showing the server's refusal), a user who may not
// list seeing why; and, over plain HTTP, the listener refusing a wrong token, Host or Origin.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../hack/talos-sim/simulator.js';
import { disposeServer, ROOT, startServer, type TestServer } from '../helpers/server.js';
import {
  adoptedNode,
  createNamespace,
  getJSON,
  kubernetesCluster,
  ok,
  standaloneUser,
  startKubectl,
  tempDir,
  type KubectlProcess,
  pluginOnPath,
} from './kubectl-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(ROOT, 'test-output', 'dashboard.png');
const NS = 'fleet';
/** how long the page may take to show a change the server has made */
const SEEN_MS = 30_000;

let s: TestServer;
let sim: Simulator;
let browser: Browser;
let page: Page;
let pathWithPlugin: string;
const tmp = tempDir();
const OPENED = join(tmp.dir, 'opened.txt');
const dashboards: KubectlProcess[] = [];

interface Dashboard {
  url: string;
  port: number;
  token: string;
}

/** `kubectl talos dashboard` as a user starts it; resolves with the URL it printed */
async function startDashboard(
  kubeconfig: string,
  args: string[] = [],
  flags: string[] = [],
): Promise<Dashboard & { process: KubectlProcess }> {
  const p = startKubectl(s, ['talos', ...args, 'dashboard', ...flags], {
    PATH: pathWithPlugin,
    KUBECONFIG: kubeconfig,
  });
  dashboards.push(p);
  await p.waitFor(/at http:\/\/127\.0\.0\.1:\d+\/\?token=\S+\n/);
  const [, url, port, token] = /at (http:\/\/127\.0\.0\.1:(\d+)\/\?token=(\S+))\n/.exec(p.stdout())!;
  return { url: url!, port: Number(port), token: token!, process: p };
}

beforeAll(async () => {
  // the browser test must fail, not skip, where chromium is missing (.ci/run installs it)
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
  sim = await startSimulator({ nodes: 2, controlPlanes: 1, clusterName: 'sim' });
  s = await startServer({ args: ['--resync-period', '1s', '--talos-call-timeout', '2s'] });
  await createNamespace(s, NS);
  await ok(s, [
    '-n',
    NS,
    'create',
    'secret',
    'generic',
    'talos',
    `--from-file=talosconfig=${tmp.write('talosconfig', sim.talosconfigYaml)}`,
  ]);
  const nodes = sim.nodes().map((n) => adoptedNode(n.name, NS, n.endpoint, n.role ?? 'worker'));
  await ok(s, ['apply', '-f', '-'], { input: [...nodes, kubernetesCluster('demo', NS)].join('---\n') });
  pathWithPlugin = pluginOnPath(tmp.dir);
  // the desktop's opener, as --open calls it: it records what it was asked to open
  writeFileSync(join(tmp.dir, 'bin', 'xdg-open'), `#!/bin/sh\necho "$@" >> ${OPENED}\n`, { mode: 0o755 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  for (const d of dashboards) await d.kill();
  await disposeServer(s);
  await sim?.stop();
  tmp.remove();
});

/** what the tests touch of the page's window (the project's types have no DOM) */
interface BrowserWindow {
  sameDocument?: boolean;
  getComputedStyle(el: unknown): { backgroundColor: string };
}

const row = (kind: string, name: string) => `tr[data-kind="${kind}"][data-name="${name}"]`;

describe('the fleet page in a browser', () => {
  let admin: Dashboard;

  it('lists the fleet: clusters with their machines, adopted servers Ready, watched live', async () => {
    admin = await startDashboard(s.kubeconfig);
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    await page.goto(admin.url);
    // the token went into a cookie: the address bar no longer shows it
    expect(page.url()).toBe(`http://127.0.0.1:${admin.port}/`);
    for (const n of sim.nodes())
      await page.waitForSelector(`${row('AdoptedServer', n.name)}[data-state="ok"]`, { timeout: SEEN_MS });
    const cp = sim.nodes().find((n) => n.role === 'controlplane')!;
    await expect.poll(() => page.textContent(row('AdoptedServer', cp.name))).toContain('v1.13.9');
    expect(await page.textContent(row('AdoptedServer', cp.name))).toContain('Healthy');
    await page.waitForSelector(row('KubernetesCluster', 'demo'), { timeout: SEEN_MS });
    for (const m of ['demo-ctp0', 'demo-wrk0', 'demo-wrk1'])
      await page.waitForSelector(`${row('Machine', m)}.machine`, { timeout: SEEN_MS });
    await expect.poll(() => page.textContent('#connection')).toBe('live');
    expect(await page.textContent('#alerts')).toBe('');
  });

  it('more tabs of the same dashboard are live too: each page holds one watch connection', async () => {
    // a browser keeps six connections per host across its tabs: a stream per kind would stall the third tab
    const tabs = await Promise.all([1, 2, 3].map(() => page.context().newPage()));
    try {
      for (const tab of tabs) {
        await tab.goto(`http://127.0.0.1:${admin.port}/`);
        await tab.waitForSelector(row('KubernetesCluster', 'demo'), { timeout: SEEN_MS });
        await expect.poll(() => tab.textContent('#connection')).toBe('live');
      }
    } finally {
      for (const tab of tabs) await tab.close();
    }
  });

  it('a node going unhealthy turns red without a reload, with its conditions and events in the detail', async () => {
    const worker = sim.nodes().find((n) => n.role !== 'controlplane')!;
    await page.evaluate(() => ((globalThis as unknown as BrowserWindow).sameDocument = true));
    await sim.inject(worker.name, 'unhealthy', { service: 'kubelet' });
    try {
      const red = await page.waitForSelector(`${row('AdoptedServer', worker.name)}[data-state="bad"]`, {
        timeout: SEEN_MS,
      });
      expect(
        await red.evaluate((el) => (globalThis as unknown as BrowserWindow).getComputedStyle(el).backgroundColor),
      ).toBe('rgb(253, 226, 225)');
      expect(await red.textContent()).toContain('Unhealthy');
      expect(await page.evaluate(() => (globalThis as unknown as BrowserWindow).sameDocument)).toBe(true);

      await red.click();
      await page.waitForSelector('#detail h2', { timeout: SEEN_MS });
      expect(await page.textContent('#detail h2')).toBe(`AdoptedServer ${NS}/${worker.name}`);
      const readyRow = page.locator('#detail tr', { hasText: /^Ready/ }).first();
      await expect.poll(() => readyRow.textContent()).toMatch(/^ReadyFalse/);
      await page.waitForSelector('#detail tr:has-text("HealthChanged")', { timeout: SEEN_MS });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      console.log(`dashboard screenshot: ${SCREENSHOT}`);
    } finally {
      await sim.inject(worker.name, 'heal');
    }
    await page.waitForSelector(`${row('AdoptedServer', worker.name)}[data-state="ok"]`, { timeout: SEEN_MS });
  });

  it("a cluster's detail shows its conditions and the events of its machines' creation", async () => {
    await page.click(row('KubernetesCluster', 'demo'));
    await expect.poll(() => page.textContent('#detail h2')).toBe(`KubernetesCluster ${NS}/demo`);
    await page.waitForSelector('#detail tr:has-text("MachinesReconciled")', { timeout: SEEN_MS });
    await page.waitForSelector('#detail tr:has-text("SuccessfulCreate")', { timeout: SEEN_MS });
  });

  it("the adopt form creates the AdoptedServer; a second one is refused with the server's message", async () => {
    await page.fill('#adopt input[name=name]', 'from-the-page');
    await page.fill('#adopt input[name=namespace]', NS);
    await page.fill('#adopt input[name=endpoint]', '127.0.0.1:1');
    await page.selectOption('#adopt select[name=nodeType]', 'worker');
    await page.fill('#adopt input[name=secretName]', 'talos');
    await page.click('#adopt button[type=submit]');
    await page.waitForSelector('#adopt-result.done', { timeout: SEEN_MS });
    expect(await page.textContent('#adopt-result')).toBe(`AdoptedServer ${NS}/from-the-page created.`);
    const created = await getJSON(s, ['-n', NS, 'adoptedserver', 'from-the-page']);
    expect(created.spec).toMatchObject({
      talos: { endpoint: '127.0.0.1:1', nodeType: 'worker', talosconfigSecretRef: { name: 'talos' } },
      accepted: true,
    });
    // the watch brings it into the table, and the controller's verdict with it
    await page.waitForSelector(`${row('AdoptedServer', 'from-the-page')}[data-state="bad"]`, { timeout: SEEN_MS });

    await page.click('#adopt button[type=submit]');
    await page.waitForSelector('#adopt-result.error', { timeout: SEEN_MS });
    expect(await page.textContent('#adopt-result')).toBe(
      'adoptedservers.metal.sidero.dev "from-the-page" already exists',
    );
    await page.fill('#adopt input[name=name]', 'bad-endpoint');
    await page.fill('#adopt input[name=endpoint]', 'no port');
    await page.click('#adopt button[type=submit]');
    await expect
      .poll(() => page.textContent('#adopt-result'))
      .toMatch(/^AdoptedServer\.metal\.sidero\.dev "bad-endpoint" is invalid: spec\.talos\.endpoint/);
    expect(await getJSON(s, ['-n', NS, 'adoptedserver', 'bad-endpoint'])).toBeUndefined();
  });

  it('a user who may not list sees the Forbidden message, not a blank page', async () => {
    const viewer = await standaloneUser(s, 'viewer', ['team']);
    const d = await startDashboard(viewer.kubeconfig);
    const p = await browser.newPage();
    try {
      await p.goto(d.url);
      await p.waitForSelector('#alerts .alert', { timeout: SEEN_MS });
      await expect
        .poll(() => p.locator('#alerts .alert').allTextContents())
        .toEqual(
          expect.arrayContaining([
            expect.stringMatching(/^Cannot show adoptedservers: .*User "viewer" cannot list resource "adoptedservers"/),
            expect.stringMatching(/^Cannot show kubernetesclusters: .*User "viewer" cannot list/),
          ]),
        );
      expect(await p.textContent('#adoptedservers')).toMatch(/^Not shown: .*User "viewer" cannot list/);
    } finally {
      await p.close();
    }
  });
});

function plain(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** the first line of a streamed answer (a watch), then the connection is dropped */
function firstLine(port: number, path: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        if (text.includes('\n')) {
          resolve(text.slice(0, text.indexOf('\n')));
          req.destroy();
        }
      });
      res.on('end', () => reject(new Error(`the stream ended without a line: ${text}`)));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the listener over plain HTTP', () => {
  it('refuses a wrong token, a wrong Host and a foreign Origin with 403, and creates nothing', async () => {
    const d = await startDashboard(s.kubeconfig);
    const host = `127.0.0.1:${d.port}`;
    const cookie = `talos-dashboard-${d.port}=${d.token}`;
    const list = '/k8s/apis/metal.sidero.dev/v1alpha2/adoptedservers';
    const message = (r: { body: string }) => JSON.parse(r.body).message as string;

    expect((await plain(d.port, 'GET', list, { Host: host, Cookie: cookie })).status).toBe(200);
    const login = await plain(d.port, 'GET', `/?token=${d.token}`, { Host: host });
    expect(login.status).toBe(303);

    const wrongToken = await plain(d.port, 'GET', '/?token=not-the-token', { Host: host });
    expect(wrongToken.status).toBe(403);
    expect(message(wrongToken)).toContain('token');
    expect((await plain(d.port, 'GET', list, { Host: host })).status).toBe(403);
    expect((await plain(d.port, 'GET', list, { Host: host, Cookie: `talos-dashboard-${d.port}=x` })).status).toBe(403);

    const rebound = await plain(d.port, 'GET', list, { Host: `attacker.example:${d.port}`, Cookie: cookie });
    expect(rebound.status).toBe(403);
    expect(message(rebound)).toContain('Host "attacker.example');

    const foreign = await plain(d.port, 'GET', list, { Host: host, Cookie: cookie, Origin: 'http://attacker.example' });
    expect(foreign.status).toBe(403);
    const create = (headers: Record<string, string>) =>
      plain(
        d.port,
        'POST',
        `/k8s/apis/metal.sidero.dev/v1alpha2/namespaces/${NS}/adoptedservers`,
        { Host: host, Cookie: cookie, 'Content-Type': 'application/json', ...headers },
        JSON.stringify(adoptedJSON('csrf')),
      );
    expect((await create({ Origin: 'http://attacker.example' })).status).toBe(403);
    expect((await create({})).status).toBe(403);
    expect(await getJSON(s, ['-n', NS, 'adoptedserver', 'csrf'])).toBeUndefined();

    const secrets = await plain(d.port, 'GET', `/k8s/api/v1/namespaces/${NS}/secrets`, { Host: host, Cookie: cookie });
    expect(secrets.status).toBe(403);
    expect(message(secrets)).toContain('does not forward');
    // with its own Origin the same create passes: the checks above refused it, not the API server
    expect((await create({ Origin: `http://${host}` })).status).toBe(201);
    expect((await create({ Origin: `http://${host}`, 'Content-Type': 'text/plain' })).status).toBe(415);

    // the merged watch takes allow-listed watches only, and streams their events as they come
    const watch = (path: string) => `/watch?path=${encodeURIComponent(path)}`;
    const secretsWatch = await plain(d.port, 'GET', watch(`/k8s/api/v1/namespaces/${NS}/secrets?watch=1`), {
      Host: host,
      Cookie: cookie,
    });
    expect(secretsWatch.status).toBe(403);
    const notAWatch = await plain(d.port, 'GET', watch(`/k8s${list.slice(4)}`), { Host: host, Cookie: cookie });
    expect(notAWatch.status).toBe(400);
    const first = await firstLine(d.port, watch(`${list}?watch=1&resourceVersion=0`), { Host: host, Cookie: cookie });
    expect(JSON.parse(first)).toMatchObject({ i: 0, event: { type: 'ADDED', object: { kind: 'AdoptedServer' } } });
  });

  it('--open hands the URL to the desktop (xdg-open), and only when asked', async () => {
    const d = await startDashboard(s.kubeconfig, [], ['--open']);
    // every other dashboard of this file ran without --open, with the same opener on PATH
    await expect.poll(() => (existsSync(OPENED) ? readFileSync(OPENED, 'utf8') : '')).toBe(`${d.url}\n`);
  });

  it('-n shows one namespace; SIGTERM stops the dashboard (exit 0) and its port closes', async () => {
    const d = await startDashboard(s.kubeconfig, ['-n', NS]);
    const host = `127.0.0.1:${d.port}`;
    const config = await plain(d.port, 'GET', '/config.json', {
      Host: host,
      Cookie: `talos-dashboard-${d.port}=${d.token}`,
    });
    expect(JSON.parse(config.body)).toMatchObject({ namespace: NS, server: s.url.replace(/\/$/, '') });
    await d.process.kill();
    expect((await d.process.exited).code).toBe(0);
    await expect(plain(d.port, 'GET', '/', { Host: host })).rejects.toThrow(/ECONNREFUSED/);
  });
});

function adoptedJSON(name: string) {
  return {
    apiVersion: 'metal.sidero.dev/v1alpha2',
    kind: 'AdoptedServer',
    metadata: { name, namespace: NS },
    spec: { talos: { endpoint: '127.0.0.1:1', nodeType: 'worker' } },
  };
}
