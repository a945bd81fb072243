// The archive Talos' Kubeconfig RPC streams, quirk included: gzip of a tar with one regular file
// whose tar writer is never closed, so there are no end-of-archive blocks and the body is not
// padded to 512 bytes. Clients must parse it leniently; the simulator makes them.
import { gzipSync } from 'node:zlib';

const BLOCK = 512;

function put(header: Buffer, offset: number, length: number, value: string): void {
  header.write(value, offset, length, 'utf8');
}

/** Octal, zero-padded, NUL-terminated, as Go's archive/tar formats numeric USTAR fields. */
function putOctal(header: Buffer, offset: number, length: number, value: number): void {
  put(header, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

export function tarHeader(name: string, size: number, mode: number, mtime: Date): Buffer {
  const header = Buffer.alloc(BLOCK);
  put(header, 0, 100, name);
  putOctal(header, 100, 8, mode);
  putOctal(header, 108, 8, 0); // uid
  putOctal(header, 116, 8, 0); // gid
  putOctal(header, 124, 12, size);
  putOctal(header, 136, 12, Math.floor(mtime.getTime() / 1000));
  header.fill(0x20, 148, 156); // checksum counts as spaces while summing
  header[156] = 0x30; // '0': regular file
  put(header, 257, 6, 'ustar\0');
  put(header, 263, 2, '00');
  let sum = 0;
  for (const b of header) sum += b;
  put(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/** One header plus the raw body, nothing after it: exactly what an unclosed Go tar.Writer leaves. */
export function unclosedTar(name: string, body: Buffer, mode = 0o600, mtime = new Date()): Buffer {
  return Buffer.concat([tarHeader(name, body.length, mode, mtime), body]);
}

export function kubeconfigArchive(kubeconfig: string): Buffer {
  return gzipSync(unclosedTar('kubeconfig', Buffer.from(kubeconfig, 'utf8')));
}
