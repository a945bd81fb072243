// The Kubeconfig RPC's tar quirk: no end-of-archive blocks, unpadded body.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { kubeconfigArchive, tarHeader, unclosedTar } from '../../hack/talos-sim/tar.js';
import { fileFromTarGz, readTar, TarFormatError } from '../../src/talos/tar.js';

describe('lenient tar reading', () => {
  const body = Buffer.from('apiVersion: v1\nkind: Config\n');

  it('the simulator writes exactly header + unpadded body, nothing after', () => {
    const tar = unclosedTar('kubeconfig', body);
    expect(tar.length).toBe(512 + body.length);
    expect(tar.length % 512).not.toBe(0);
    const [entry] = readTar(tar);
    expect(entry).toMatchObject({ name: 'kubeconfig', type: '0', mode: 0o600 });
    expect(entry?.body.equals(body)).toBe(true);
  });

  it('reads the gzip of the unclosed tar', async () => {
    const out = await fileFromTarGz(kubeconfigArchive(body.toString()), 'kubeconfig');
    expect(out.equals(body)).toBe(true);
  });

  it('also reads a well-formed archive (padding and two zero blocks)', async () => {
    const pad = Buffer.alloc(512 - (body.length % 512));
    const proper = Buffer.concat([
      tarHeader('./kubeconfig', body.length, 0o600, new Date()),
      body,
      pad,
      Buffer.alloc(1024),
    ]);
    expect((await fileFromTarGz(gzipSync(proper), 'kubeconfig')).equals(body)).toBe(true);
  });

  it('finds the file among several entries, padded between them', () => {
    const first = Buffer.from('x'.repeat(700));
    const pad = Buffer.alloc(512 - (first.length % 512));
    const tar = Buffer.concat([
      tarHeader('other', first.length, 0o644, new Date()),
      first,
      pad,
      unclosedTar('kubeconfig', body),
    ]);
    const entries = readTar(tar);
    expect(entries.map((e) => e.name)).toEqual(['other', 'kubeconfig']);
    expect(entries[1]?.body.equals(body)).toBe(true);
  });

  it('a body shorter than the header says is an error, not a short file', () => {
    const tar = unclosedTar('kubeconfig', body).subarray(0, 512 + 5);
    expect(() => readTar(tar)).toThrow(/truncated/);
  });

  it('a corrupted header fails its checksum', () => {
    const tar = unclosedTar('kubeconfig', body);
    tar[0] = 'X'.charCodeAt(0);
    expect(() => readTar(tar)).toThrow(TarFormatError);
  });

  it('a missing file is reported with what was there', async () => {
    await expect(fileFromTarGz(gzipSync(unclosedTar('talosconfig', body)), 'kubeconfig')).rejects.toThrow(
      /found: talosconfig/,
    );
  });

  it('a gzip stream without its trailer still yields its content', async () => {
    const gz = kubeconfigArchive(body.toString());
    const out = await fileFromTarGz(gz.subarray(0, gz.length - 8), 'kubeconfig');
    expect(out.equals(body)).toBe(true);
  });
});
