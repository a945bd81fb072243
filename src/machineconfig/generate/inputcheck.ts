// Checks for single generator inputs. Each returns a problem in plain words or undefined, so
// inputs.ts can attach the field path; input values are not secret and may be quoted.
import { isIP } from 'node:net';
import { isDNS1123Label, isDNS1123Subdomain, validateLabelKey, validateLabelValue } from '../../machinery/labels.js';

/** The parts of a control-plane endpoint a generator needs. */
export interface ParsedEndpoint {
  /** host as written, IPv6 without its brackets; it is the automatic apiserver SAN for contracts ≤1.11 */
  host: string;
}

/**
 * `https://host[:port]`, as Talos's validator wants the control-plane endpoint: scheme https, a
 * host, a numeric port if any, IPv6 in brackets. Nothing else may follow: kubelets and talosctl add
 * their own paths.
 */
export function checkEndpoint(endpoint: string): ParsedEndpoint | { problem: string } {
  if (!/^https:\/\//i.test(endpoint)) return { problem: 'must be an https:// URL, e.g. https://10.0.0.1:6443' };
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { problem: 'is not a valid URL' };
  }
  if (url.hostname === '') return { problem: 'must have a host' };
  if (url.username !== '' || url.password !== '') return { problem: 'must not carry user information' };
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '')
    return { problem: 'must not have a path, query or fragment' };
  // the host as written (URL lower-cases names; Talos keeps the text): the authority minus the port
  const authority = endpoint.slice('https://'.length).split(/[/?#]/)[0] ?? '';
  const bracketed = /^\[([^\]]+)\](?::\d*)?$/.exec(authority);
  if (bracketed) return { host: bracketed[1] ?? '' };
  if (authority.includes(':') && !/^[^:]+:\d*$/.test(authority)) return { problem: 'an IPv6 host must be in brackets' };
  return { host: authority.replace(/:\d*$/, '') };
}

/** An IPv4 or IPv6 network in CIDR notation. */
export function checkCidr(cidr: string): string | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  const family = m ? isIP(m[1] ?? '') : 0;
  if (!m || family === 0) return 'must be a network in CIDR notation, e.g. 10.244.0.0/16';
  if (Number(m[2]) > (family === 4 ? 32 : 128)) return `prefix length must be at most ${family === 4 ? 32 : 128}`;
  return undefined;
}

/** A DNS domain such as cluster.local (Talos refuses a dnsDomain that is not a valid DNS name). */
export function checkDnsDomain(domain: string): string | undefined {
  const problems = isDNS1123Subdomain(domain.toLowerCase());
  return problems.length > 0 ? problems.join('; ') : undefined;
}

export function checkLabelKey(key: string): string | undefined {
  const problems = validateLabelKey(key);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

export function checkLabelValue(value: string): string | undefined {
  const problems = validateLabelValue(value);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

/**
 * A `machine.nodeTaints` value: `value:Effect`, or a bare `Effect` for a taint without value
 * (Talos documents the `value:Effect` form; the bare effect is Kubernetes' own shorthand and we
 * accept it too).
 */
export function checkTaintValue(text: string): string | undefined {
  const colon = text.lastIndexOf(':');
  const value = colon < 0 ? '' : text.slice(0, colon);
  const effect = colon < 0 ? text : text.slice(colon + 1);
  if (!(TAINT_EFFECTS as readonly string[]).includes(effect))
    return `must be "value:Effect" with Effect one of ${TAINT_EFFECTS.join(', ')}`;
  const valueProblem = checkLabelValue(value);
  return valueProblem ? `taint value ${valueProblem}` : undefined;
}

/** A manifest URL for a custom CNI: http(s) with a host. */
export function checkManifestUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    if ((url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '') return undefined;
  } catch {
    // reported below
  }
  return 'must be an http:// or https:// URL';
}

/** Something written into the config as one token (disk paths, images, SANs, names). */
export function checkToken(text: string): string | undefined {
  if (text === '') return 'must not be empty';
  if (/\s/.test(text)) return 'must not contain whitespace';
  return undefined;
}

/**
 * A node's static hostname: one DNS label. Talos would take a dotted name as host plus domain, and
 * the kubelet registers the node under the first label alone, so `a.b-ctp0` and `a.b-wrk0` would
 * both become node `a`.
 */
export function checkHostname(name: string): string | undefined {
  const problems = isDNS1123Label(name);
  return problems.length > 0 ? `must be one DNS label: ${problems.join('; ')}` : undefined;
}

/**
 * A hardware (MAC) address as Talos prints links' addresses: hex octets separated by colons
 * (6 for Ethernet, up to 20 for InfiniBand). Returns the address lower-cased, as Talos compares it.
 */
export function checkHardwareAddr(text: string): { value: string } | { problem: string } {
  const value = text.toLowerCase();
  if (!/^[0-9a-f]{2}(?::[0-9a-f]{2}){5,19}$/.test(value))
    return { problem: 'must be a hardware address such as 52:54:00:12:34:56' };
  return { value };
}

/**
 * A static address with its prefix length, `10.0.0.5/24` or `2001:db8::5/64`. IPv6 is written in
 * lower case: the typed network documents of Talos 1.12+ accept only lower-case hex.
 */
export function checkInterfaceAddress(text: string): { value: string } | { problem: string } {
  const problem = text.includes('%') ? 'zone' : checkCidr(text);
  if (problem) return { problem: 'must be an address with its prefix length, e.g. 10.0.0.5/24' };
  const [address, length] = text.split('/') as [string, string];
  // the prefix length as a plain number: Go's prefix parser refuses leading zeros
  return { value: `${address.toLowerCase()}/${Number(length)}` };
}

/** An install disk given as a device path: `/dev/` and a path of plain characters (no quotes, no spaces). */
export function checkDevicePath(text: string): string | undefined {
  if (!/^\/dev\/[A-Za-z0-9._:+@/-]+$/.test(text) || text.split('/').includes('..'))
    return 'must be a device path such as /dev/vda or /dev/disk/by-id/...';
  return undefined;
}
