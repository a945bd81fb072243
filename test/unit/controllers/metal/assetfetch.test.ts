// Environment assets fetched over real loopback sockets: redirects, checksums, the allow-list
// checked before any connection, and no partial file left behind.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetError, fetchAsset } from '../../../../src/controllers/metal/assetfetch.js';
import { OutboundAllowList } from '../../../../src/talos/outbound.js';

const body = Buffer.from('kernel bytes '.repeat(5000));
const sha = createHash('sha512').update(body).digest('hex');
let http: Server;
let base = '';
let connections = 0;
const dir = mkdtempSync(join(tmpdir(), 'tfa-assets-'));
const loopback = { allowList: OutboundAllowList.parse('127.0.0.0/8'), timeoutMs: 10_000 };

beforeAll(async () => {
  http = createServer((req, res) => {
    if (req.url === '/redirect') res.writeHead(302, { Location: '/vmlinuz' }).end();
    else if (req.url === '/vmlinuz') res.end(body);
    else res.writeHead(404).end('no such asset');
  });
  http.on('connection', () => connections++);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => http.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const onlyTarget = (name: string) => expect(readdirSync(dir).filter((f) => f.startsWith(name))).toEqual([name]);

describe('fetchAsset', () => {
  it('downloads over http, following a redirect, and verifies the SHA-512', async () => {
    const target = join(dir, 'a');
    expect(await fetchAsset(`${base}/redirect`, target, sha.toUpperCase(), loopback)).toBe(sha);
    expect(readFileSync(target)).toEqual(body);
    onlyTarget('a');
  });

  it('copies a file:// URL', async () => {
    const src = join(dir, 'src-file');
    writeFileSync(src, body);
    const target = join(dir, 'b');
    await fetchAsset(pathToFileURL(src).href, target, undefined, loopback);
    expect(readFileSync(target)).toEqual(body);
  });

  it('a checksum mismatch is ChecksumMismatch and leaves neither the target nor a temporary file', async () => {
    const target = join(dir, 'c');
    const e = await fetchAsset(`${base}/vmlinuz`, target, '00'.repeat(64), loopback).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AssetError);
    expect((e as AssetError).reason).toBe('ChecksumMismatch');
    expect(readdirSync(dir).filter((f) => f.startsWith('c'))).toEqual([]);
  });

  it('an HTTP error, a missing file and an unknown scheme are DownloadFailed', async () => {
    for (const url of [`${base}/nothing`, pathToFileURL(join(dir, 'missing')).href, 'ftp://127.0.0.1/x']) {
      const e = await fetchAsset(url, join(dir, 'd'), undefined, loopback).catch((x: unknown) => x);
      expect((e as AssetError).reason, url).toBe('DownloadFailed');
    }
    expect(existsSync(join(dir, 'd'))).toBe(false);
  });

  it('an address outside the allow-list is refused before any connection is opened', async () => {
    const before = connections;
    const elsewhere = { allowList: OutboundAllowList.parse('10.0.0.0/8'), timeoutMs: 10_000 };
    const e = await fetchAsset(`${base}/vmlinuz`, join(dir, 'e'), undefined, elsewhere).catch((x: unknown) => x);
    expect(e).toMatchObject({ reason: 'OutboundNotAllowed' });
    expect((e as Error).message).toContain('no connection was made');
    expect(connections).toBe(before);
  });

  it('a redirect to an address outside the allow-list is refused too', async () => {
    const only = OutboundAllowList.parse('127.0.0.1/32');
    const out = createServer((_req, res) => res.writeHead(302, { Location: 'http://127.0.0.2:9/vmlinuz' }).end());
    await new Promise<void>((r) => out.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(out.address() as AddressInfo).port}/`;
      const e = await fetchAsset(url, join(dir, 'f'), undefined, { allowList: only, timeoutMs: 10_000 }).catch(
        (x: unknown) => x,
      );
      expect(e).toMatchObject({ reason: 'OutboundNotAllowed' });
    } finally {
      await new Promise((r) => out.close(r));
    }
  });
});
