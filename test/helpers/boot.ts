// Plain HTTP to a started server's boot listener, from a chosen loopback source address (as a
// booting machine or its agent would call it).
import { request } from 'node:http';
import { pathToFileURL } from 'node:url';
import type { TestServer } from './server.js';

export interface BootResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
  text: string;
  json<T = any>(): T;
}

export interface BootCall {
  /** the loopback address the request comes from */
  from?: string;
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  raw?: string;
}

export function bootURLOf(s: TestServer): string {
  for (const line of s.logs) {
    if (!line.includes('boot listener serving')) continue;
    return (JSON.parse(line) as { address: string }).address;
  }
  throw new Error('the server logged no "boot listener serving" line');
}

export function call(base: string, method: string, path: string, c: BootCall = {}): Promise<BootResponse> {
  const body = c.raw ?? (c.body === undefined ? undefined : JSON.stringify(c.body));
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, base),
      {
        method,
        localAddress: c.from ?? '127.0.0.1',
        headers: {
          ...(body !== undefined
            ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }
            : {}),
          ...(c.token ? { Authorization: `Bearer ${c.token}` } : {}),
          ...c.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          const text = bytes.toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * An Environment whose kernel and initramfs are files (`write` puts a file in a temporary
 * directory and returns its path): what tests netboot, as upstream URLs cannot be reached.
 */
export function fileEnvironment(
  write: (file: string, content: string) => string,
  name: string,
  args: string[],
): string {
  const kernel = pathToFileURL(write(`${name}-vmlinuz`, `kernel of ${name}\n`)).href;
  const initrd = pathToFileURL(write(`${name}-initramfs.xz`, `initramfs of ${name}\n`)).href;
  return JSON.stringify({
    apiVersion: 'metal.sidero.dev/v1alpha2',
    kind: 'Environment',
    metadata: { name },
    spec: { kernel: { url: kernel, args }, initrd: { url: initrd } },
  });
}
