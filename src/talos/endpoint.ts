// Talos endpoints as talosconfig writes them: `host` or `host:port`, port 50000 when absent,
// IPv6 addresses in brackets (`[fd00::1]:50000`); a bare IPv6 address without brackets is accepted too.
import { isIP } from 'node:net';

export const DEFAULT_TALOS_PORT = 50000;

export interface Endpoint {
  /** host name or IP address, without brackets */
  host: string;
  port: number;
}

/** An endpoint that is not host or host:port: the caller's input is wrong (see TalosconfigError). */
export class EndpointError extends Error {
  constructor(endpoint: string, why: string) {
    super(`invalid Talos endpoint ${JSON.stringify(endpoint)}: ${why}`);
    this.name = 'EndpointError';
  }
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;

function parsePort(endpoint: string, text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new EndpointError(endpoint, 'the port must be a number');
  const port = Number(text);
  if (port < 1 || port > 65535) throw new EndpointError(endpoint, 'the port must be between 1 and 65535');
  return port;
}

export function parseEndpoint(endpoint: string): Endpoint {
  const text = endpoint.trim();
  if (text === '') throw new EndpointError(endpoint, 'it is empty');
  if (text.includes('://')) throw new EndpointError(endpoint, 'give host or host:port, without a scheme');
  if (isIP(text) === 6) return { host: text, port: DEFAULT_TALOS_PORT };
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    const host = bracketed[1] ?? '';
    if (isIP(host) !== 6) throw new EndpointError(endpoint, 'brackets must hold an IPv6 address');
    const port = bracketed[2] === undefined ? DEFAULT_TALOS_PORT : parsePort(endpoint, bracketed[2]);
    return { host, port };
  }
  const colon = text.lastIndexOf(':');
  const host = colon < 0 ? text : text.slice(0, colon);
  const port = colon < 0 ? DEFAULT_TALOS_PORT : parsePort(endpoint, text.slice(colon + 1));
  if (host.includes(':')) throw new EndpointError(endpoint, 'put an IPv6 address in brackets: [addr]:port');
  if (isIP(host) === 0 && !HOSTNAME.test(host))
    throw new EndpointError(endpoint, 'the host is not a valid name or address');
  return { host, port };
}

/** `host:port` with IPv6 hosts in brackets: the form gRPC targets and nodes.json use. */
export function formatEndpoint(e: Endpoint): string {
  return isIP(e.host) === 6 ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}
