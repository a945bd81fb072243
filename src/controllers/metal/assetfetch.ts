// Downloads one Environment asset (kernel or initramfs) into the cache: from file:// or
// http(s)://, where every address dialled (each redirect's too) must be inside
// --allowed-outbound-networks and is checked before any socket opens; the bytes go to a temporary
// file beside the target, are hashed on the way, and are renamed into place only when the SHA-512
// (when one is given) matches. A failure leaves no partial file behind.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { dirname } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { refusedResolvers, type OutboundAllowList } from '../../talos/outbound.js';

export type AssetFailure = 'DownloadFailed' | 'ChecksumMismatch' | 'OutboundNotAllowed';

export class AssetError extends Error {
  override readonly name = 'AssetError';

  constructor(
    readonly reason: AssetFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface FetchOptions {
  allowList: OutboundAllowList;
  /** the whole download's deadline */
  timeoutMs: number;
}

const MAX_REDIRECTS = 5;

/** fetches `url` to `target`, verifying `sha512` when given; resolves to the SHA-512 it had */
export async function fetchAsset(
  url: string,
  target: string,
  sha512: string | undefined,
  o: FetchOptions,
): Promise<string> {
  const temp = `${target}.download-${process.pid}-${Date.now()}`;
  await mkdir(dirname(target), { recursive: true });
  const signal = AbortSignal.timeout(o.timeoutMs);
  const hash = createHash('sha512');
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    const source = await open(url, o, signal, 0);
    await pipeline(source, hashing, createWriteStream(temp, { mode: 0o644 }), { signal }).catch((e: unknown) => {
      if (e instanceof AssetError) throw e;
      const why = signal.aborted ? `no complete download within ${o.timeoutMs} ms` : (e as Error).message;
      throw new AssetError('DownloadFailed', `${url}: ${why}`);
    });
    const got = hash.digest('hex');
    if (sha512 && got !== sha512.trim().toLowerCase()) {
      throw new AssetError('ChecksumMismatch', `${url}: SHA-512 is ${got}, the spec says ${sha512}`);
    }
    await rename(temp, target);
    return got;
  } finally {
    await rm(temp, { force: true });
  }
}

async function open(url: string, o: FetchOptions, signal: AbortSignal, hops: number): Promise<Readable> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AssetError('DownloadFailed', `${url} is not a URL`);
  }
  if (u.protocol === 'file:') {
    const stream = createReadStream(fileURLToPath(u));
    // an unreadable file fails here, with its own message, not halfway through the pipeline
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (e) => reject(new AssetError('DownloadFailed', `${url}: ${e.message}`)));
    });
    return stream;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new AssetError('DownloadFailed', `${url}: only file://, http:// and https:// URLs are fetched`);
  }
  const address = await allowedAddress(u.hostname.replace(/^\[(.*)\]$/, '$1'), o.allowList);
  const res = await get(u, address, signal);
  const code = res.statusCode ?? 0;
  if (code >= 300 && code < 400 && res.headers.location) {
    res.resume();
    if (hops >= MAX_REDIRECTS) throw new AssetError('DownloadFailed', `${url}: more than ${MAX_REDIRECTS} redirects`);
    return open(new URL(res.headers.location, u).href, o, signal, hops + 1);
  }
  if (code < 200 || code > 299) {
    res.resume();
    throw new AssetError('DownloadFailed', `${url}: HTTP ${code}`);
  }
  return res;
}

/** the address to dial for `host`, refused before any socket (DNS included) leaves the allow-list */
async function allowedAddress(host: string, allowList: OutboundAllowList): Promise<string> {
  const resolvers = refusedResolvers(allowList, host);
  if (resolvers.length > 0) {
    throw new AssetError(
      'OutboundNotAllowed',
      `refusing to resolve ${host}: asking DNS server ${resolvers.join(', ')} would leave --allowed-outbound-networks (${allowList.toString()}); no connection was made`,
    );
  }
  let address = host;
  if (isIP(host) === 0) {
    try {
      address = (await lookup(host)).address;
    } catch (e) {
      throw new AssetError('DownloadFailed', `cannot resolve ${host}: ${(e as Error).message}`);
    }
  }
  if (!allowList.check(address)) {
    throw new AssetError(
      'OutboundNotAllowed',
      `${host} (${address}) is outside --allowed-outbound-networks (${allowList.toString()}); no connection was made`,
    );
  }
  return address;
}

function get(u: URL, address: string, signal: AbortSignal): Promise<IncomingMessage> {
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        method: 'GET',
        host: address,
        port: u.port || (u.protocol === 'https:' ? 443 : 80),
        path: u.pathname + u.search,
        // the certificate is checked against the name, though the socket goes to the checked address
        servername: isIP(u.hostname) === 0 ? u.hostname : undefined,
        headers: { Host: u.host },
        signal,
      },
      resolve,
    );
    req.on('error', (e) => reject(new AssetError('DownloadFailed', `${u.href}: ${e.message}`)));
    req.end();
  });
}
