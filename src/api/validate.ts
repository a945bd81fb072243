// Pure value checks shared by the kinds' strategies (no I/O, no node: imports).
import { fieldErr, type FieldError } from '../machinery/errors.js';

const ipv4Octet = '(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const ipv4Re = `${ipv4Octet}(\\.${ipv4Octet}){3}`;
const dnsLabelRe = '[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?';
// A top-level label is never all digits, so `300.1.1.1` is a bad IPv4 address, not a DNS name.
// Written so that its first letter can sit in one place only (digits and hyphens before it): the
// shape "anything, a letter, anything" let a backtracking engine try every split, quadratic in
// the length of a host with no port (100 KB took half a minute of the event loop).
const dnsTopLabelRe = '([0-9][-0-9]*)?[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?';
const dnsNameRe = `(${dnsLabelRe}\\.)*${dnsTopLabelRe}`;
const portRe = '([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';

/**
 * Schema pattern for `host:port`. Valid in both ECMAScript and RE2 (no look-around). It is exact
 * for the port, IPv4 and the DNS name's shape; label/name lengths and the inside of a bracketed
 * IPv6 address are checked by hostPortProblem.
 */
export const hostPortPattern = `^(${ipv4Re}|${dnsNameRe}|\\[[0-9a-fA-F:.]+\\]):${portRe}$`;

export const hostPortRule =
  'must be host:port, where host is a DNS name, an IPv4 address or an IPv6 address in brackets, and port is 1-65535';

/** kube's wording for names (apimachinery's validation.IsDNS1123Label / IsDNS1123Subdomain) */
export const dns1123LabelRule =
  "must be an RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit";
export const dns1123SubdomainRule =
  "must be an RFC 1123 subdomain: lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit";

const ipv4Exact = new RegExp(`^${ipv4Re}$`);
const dnsLabelExact = new RegExp(`^${dnsLabelRe}$`);
const dnsTopLabelExact = new RegExp(`^${dnsTopLabelRe}$`);

export function isIPv4(s: string): boolean {
  return ipv4Exact.test(s);
}

export function isIPv6(s: string): boolean {
  let head = s;
  let tailGroups = 0;
  // An embedded IPv4 address takes the place of the last two groups.
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.slice(lastColon + 1).includes('.')) {
    if (!isIPv4(s.slice(lastColon + 1))) return false;
    head = s.slice(0, lastColon + 1) + '0';
    tailGroups = 1;
  }
  const hex = /^[0-9a-fA-F]{1,4}$/;
  const halves = head.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  if (![...left, ...right].every((g) => hex.test(g))) return false;
  const count = left.length + right.length + tailGroups;
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** A DNS name (RFC 1123 labels, any case), up to 253 characters, whose last label is not numeric. */
export function isDNSName(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = s.split('.');
  const top = labels.pop()!;
  if (top.length > 63 || !dnsTopLabelExact.test(top)) return false;
  return labels.every((l) => l.length <= 63 && dnsLabelExact.test(l));
}

/** Why `value` is not a valid `host:port`, or undefined when it is. */
export function hostPortProblem(value: string): string | undefined {
  let host: string;
  let port: string;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0 || value[close + 1] !== ':') return hostPortRule;
    host = value.slice(1, close);
    port = value.slice(close + 2);
    if (!isIPv6(host)) return `${hostPortRule}: "${host}" is not a valid IPv6 address`;
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) return `${hostPortRule}: missing port`;
    host = value.slice(0, colon);
    port = value.slice(colon + 1);
    if (host.includes(':')) return `${hostPortRule}: an IPv6 address must be in brackets`;
    if (host === '') return `${hostPortRule}: missing host`;
    if (!isIPv4(host) && !isDNSName(host)) {
      return /^[0-9.]+$/.test(host)
        ? `${hostPortRule}: "${host}" is not a valid IPv4 address`
        : `${hostPortRule}: "${host}" is not a valid DNS name`;
    }
  }
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    return `${hostPortRule}: port "${port}" is not in 1-65535`;
  }
  return undefined;
}

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Kubernetes' IsDNS1123Label message for `value`, or undefined when valid. */
export function dns1123LabelProblem(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (!dns1123Label.test(value)) {
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
  }
  return undefined;
}

/** Standard base64 with padding, as Go's encoding/json decodes []byte (CR and LF are ignored). */
export function isBase64(s: string): boolean {
  const t = s.replace(/[\r\n]/g, '');
  return t.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(t);
}

/** Reads a dotted path (a.b.c) from a decoded JSON object; undefined when any step is missing. */
export function valueAt(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const step of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[step];
  }
  return cur;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * FieldValueDuplicate errors for items of a list-type map whose `key` repeats (every repeat after
 * the first), at `<listPath>[i].<key>`.
 */
export function duplicateKeyErrors(list: unknown, listPath: string, key: string): FieldError[] {
  if (!Array.isArray(list)) return [];
  const seen = new Set<unknown>();
  const errs: FieldError[] = [];
  list.forEach((item, i) => {
    if (!isRecord(item) || item[key] === undefined) return;
    const v = item[key];
    if (seen.has(v)) errs.push(fieldErr.duplicate(`${listPath}[${i}].${key}`, v));
    seen.add(v);
  });
  return errs;
}
