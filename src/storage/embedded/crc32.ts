// CRC-32 (IEEE) guards every log frame, record and snapshot against torn or corrupt bytes.
// zlib.crc32 exists from Node 20.15; package.json allows 20.11, so keep a table-driven fallback.
// `previous` continues a checksum over data that arrives in pieces (a snapshot written in chunks).
import * as zlib from 'node:zlib';

let table: Uint32Array | undefined;

function buildTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

export function crc32Fallback(data: Uint8Array, previous = 0): number {
  table ??= buildTable();
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native: ((data: Uint8Array, previous?: number) => number) | undefined =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (data, previous = 0) => zlib.crc32(data, previous) >>> 0
    : undefined;

export const crc32: (data: Uint8Array, previous?: number) => number = native ?? crc32Fallback;
