// Syntax of the values machine configs hold: IP addresses, CIDRs, DNS names, URLs, host:port,
// Kubernetes quantities. Each returns a reason (for the message) or undefined when valid.
import { isIPv4, isIPv6 } from 'node:net';

export type IPFamily = 4 | 6;

/** An IP literal as Go's net.ParseIP reads it: no zone, no brackets. */
export function ipFamily(text: string): IPFamily | undefined {
  if (text.includes('%')) return undefined;
  if (isIPv4(text)) return 4;
  if (isIPv6(text)) return 6;
  return undefined;
}

/** `address/prefix` with a prefix that fits the family (Go's net.ParseCIDR). */
export function cidrFamily(text: string): IPFamily | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const family = ipFamily(text.slice(0, slash));
  const prefix = text.slice(slash + 1);
  if (!family || !/^\d{1,3}$/.test(prefix)) return undefined;
  return Number(prefix) <= (family === 4 ? 32 : 128) ? family : undefined;
}

/** A CIDR, or an IP standing for a single address, as interface addresses are written. */
export function isAddressOrCIDR(text: string): boolean {
  return cidrFamily(text) !== undefined || ipFamily(text) !== undefined;
}

/** A subnet filter: a CIDR, optionally negated with a leading `!` (etcd subnets, nodeIP, KubeSpan filters). */
export function isSubnetFilter(text: string): boolean {
  return cidrFamily(text.startsWith('!') ? text.slice(1) : text) !== undefined;
}

const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 253 characters
 * at most. The last label is never all digits, so `10.0.0.300` is a bad address, not a name.
 */
export function isDNSName(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  const labels = text.split('.');
  return labels.every((label) => DNS_LABEL.test(label)) && !/^\d+$/.test(labels[labels.length - 1] ?? '');
}

/** A certificate SAN: an IP address or a DNS name, which may start with a `*.` wildcard label. */
export function isSAN(text: string): boolean {
  return ipFamily(text) !== undefined || isDNSName(text.startsWith('*.') ? text.slice(2) : text);
}

export interface ParsedURL {
  scheme: string;
  host: string;
  port?: number;
  /** everything after the authority, '' when there is none */
  path: string;
}

const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;

/** Why `authority` (`host[:port]`) is not valid, or the host and port. */
export function parseHostPort(
  authority: string,
  portRequired: boolean,
): { host: string; port?: number } | { error: string } {
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) return { error: 'has an unclosed [ in its host' };
    host = authority.slice(1, close);
    const rest = authority.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return { error: 'has text after the bracketed IPv6 host' };
    if (ipFamily(host) !== 6) return { error: 'has a bracketed host that is not an IPv6 address' };
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colons = authority.split(':').length - 1;
    if (colons > 1) return { error: 'has an IPv6 host that is not in brackets ([...])' };
    [host, portText] = colons === 1 ? (authority.split(':') as [string, string]) : [authority, undefined];
    if (host === '') return { error: 'has an empty host' };
    if (ipFamily(host) === undefined && !isDNSName(host))
      return { error: 'has a host that is neither a DNS name nor an IP address' };
  }
  if (portText === undefined) return portRequired ? { error: 'has no port' } : { host };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535)
    return { error: 'has a port that is not a number from 1 to 65535' };
  return { host, port: Number(portText) };
}

/** scheme://host[:port][/path...] with a non-empty host; the reason names the part that is wrong. */
export function parseURL(text: string): ParsedURL | { error: string } {
  if (text.trim() !== text) return { error: 'has leading or trailing white space' };
  const m = URL_SHAPE.exec(text);
  if (!m) return { error: 'is not an absolute URL (scheme://host[:port][/path])' };
  const [, scheme, rawAuthority, path] = m as unknown as [string, string, string, string];
  // user info is legal in URLs but carries credentials; none of the configs' URLs need it
  const authority = rawAuthority.slice(rawAuthority.lastIndexOf('@') + 1);
  if (authority === '') return { error: 'has an empty host' };
  const hp = parseHostPort(authority, false);
  if ('error' in hp) return hp;
  return { scheme: scheme.toLowerCase(), host: hp.host, ...(hp.port === undefined ? {} : { port: hp.port }), path };
}

// Kubernetes resource.Quantity: signed decimal number with an optional binary/decimal suffix or exponent
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

export function isQuantity(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  return typeof value === 'string' && QUANTITY.test(value);
}

/** A URL fit for a message: user info (credentials) replaced, long values cut. */
export function showURL(text: string): string {
  const redacted = text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#@]*@/, '$1***@');
  return redacted.length > 200 ? `${redacted.slice(0, 200)}…` : redacted;
}
