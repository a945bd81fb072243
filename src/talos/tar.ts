// A lenient reader for the tar that Talos' Kubeconfig RPC streams. Talos never closes its tar
// writer, so the archive has no end-of-archive blocks and the last body is not padded to 512 bytes:
// read each 512-byte header, take `size` bytes, and treat running out of bytes after a body as the end.
import { gunzip, constants } from 'node:zlib';
import { promisify } from 'node:util';

const BLOCK = 512;
const gunzipAsync = promisify(gunzip);

export interface TarEntry {
  name: string;
  /** '0' regular file, '5' directory, ... (NUL is read as '0') */
  type: string;
  mode: number;
  body: Buffer;
}

export class TarFormatError extends Error {
  constructor(message: string) {
    super(`malformed tar: ${message}`);
    this.name = 'TarFormatError';
  }
}

function text(header: Buffer, offset: number, length: number): string {
  const field = header.subarray(offset, offset + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
}

function octal(header: Buffer, offset: number, length: number, what: string): number {
  const raw = text(header, offset, length).trim();
  if (raw === '') return 0;
  if (!/^[0-7]+$/.test(raw)) throw new TarFormatError(`${what} field is not octal`);
  return parseInt(raw, 8);
}

function checksumOk(header: Buffer): boolean {
  const stored = octal(header, 148, 8, 'checksum');
  let sum = 0;
  // the checksum field itself counts as eight spaces
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
  return sum === stored;
}

export function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // a proper end-of-archive block, should one be there
    if (!checksumOk(header)) throw new TarFormatError(`header checksum mismatch at offset ${offset}`);
    const size = octal(header, 124, 12, 'size');
    const start = offset + BLOCK;
    if (start + size > archive.length) throw new TarFormatError(`entry at offset ${offset} is truncated`);
    const prefix = text(header, 345, 155); // ustar splits long names into prefix/name
    const name = text(header, 0, 100);
    const type = String.fromCharCode(header[156] ?? 0);
    entries.push({
      name: prefix ? `${prefix}/${name}` : name,
      type: type === '\0' ? '0' : type,
      mode: octal(header, 100, 8, 'mode'),
      body: Buffer.from(archive.subarray(start, start + size)),
    });
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (offset < archive.length && entries.length === 0) throw new TarFormatError('no complete header');
  return entries;
}

/** Largest decompressed archive we accept: a kubeconfig is a few KiB; this stops gzip bombs. */
export const MAX_UNPACKED_BYTES = 16 * 1024 * 1024;

export async function gunzipLenient(data: Buffer): Promise<Buffer> {
  // SYNC_FLUSH: a stream whose gzip trailer is missing still yields what it holds; the tar
  // reader then notices a truncated body, so nothing short slips through silently
  return gunzipAsync(data, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: MAX_UNPACKED_BYTES });
}

/** The body of the regular file `name` (also matches `./name`) in a gzip'd tar. */
export async function fileFromTarGz(data: Buffer, name: string): Promise<Buffer> {
  const entries = readTar(await gunzipLenient(data));
  const entry = entries.find((e) => e.type === '0' && (e.name === name || e.name === `./${name}`));
  if (!entry)
    throw new TarFormatError(
      `no regular file named ${name} (found: ${entries.map((e) => e.name).join(', ') || 'nothing'})`,
    );
  return entry.body;
}
