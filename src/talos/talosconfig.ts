// The talosconfig file (what `talosctl` reads from TALOSCONFIG or ~/.talos/config):
//   context: <name>
//   contexts: { <name>: { endpoints: [...], nodes: [...], ca: b64(PEM), crt: b64(PEM), key: b64(PEM) } }
// In memory the certificate and key are held as PEM text exactly as the file had them; only
// nodeTlsKey() re-labels Talos' `ED25519 PRIVATE KEY` for Node's TLS, which rejects that label.
import { parse, stringify } from 'yaml';
import { MAX_YAML_DEPTH, yamlTooDeep } from '../machinery/yamldepth.js';

export interface TalosconfigContext {
  endpoints: string[];
  nodes: string[];
  /** OS CA certificate, PEM */
  ca: string;
  /** client certificate, PEM */
  crt: string;
  /** client private key, PEM (label as Talos wrote it) */
  key: string;
}

export interface Talosconfig {
  /** the active context */
  context: string;
  contexts: Record<string, TalosconfigContext>;
}

/**
 * A malformed talosconfig; the message names the offending key, never its value. The caller's
 * input is wrong (a 400 where an HTTP request carried it: src/subresources/failures.ts).
 */
export class TalosconfigError extends Error {
  constructor(
    readonly path: string,
    why: string,
  ) {
    super(`invalid talosconfig: ${path ? `${path}: ` : ''}${why}`);
    this.name = 'TalosconfigError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    throw new TalosconfigError(path, 'must be a list of strings');
  return v as string[];
}

const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

function pemField(v: unknown, path: string, label: RegExp): string {
  if (typeof v !== 'string' || v.trim() === '') throw new TalosconfigError(path, 'is required (base64 of a PEM block)');
  if (!BASE64.test(v)) throw new TalosconfigError(path, 'is not base64');
  const pem = Buffer.from(v, 'base64').toString('utf8');
  if (!label.test(pem)) throw new TalosconfigError(path, 'does not decode to the expected PEM block');
  return pem;
}

const CERT_PEM = /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/;
const KEY_PEM = /-----BEGIN ((ED25519|EC|RSA) )?PRIVATE KEY-----[\s\S]+-----END ((ED25519|EC|RSA) )?PRIVATE KEY-----/;

function parseContext(v: unknown, path: string): TalosconfigContext {
  if (!isRecord(v)) throw new TalosconfigError(path, 'must be a mapping');
  // `target` is the legacy single-endpoint key; talosctl merges it into endpoints
  const endpoints = stringList(v['endpoints'], `${path}.endpoints`);
  if (typeof v['target'] === 'string' && v['target'] !== '' && !endpoints.includes(v['target']))
    endpoints.push(v['target']);
  return {
    endpoints,
    nodes: stringList(v['nodes'], `${path}.nodes`),
    ca: pemField(v['ca'], `${path}.ca`, CERT_PEM),
    crt: pemField(v['crt'], `${path}.crt`, CERT_PEM),
    key: pemField(v['key'], `${path}.key`, KEY_PEM),
  };
}

export function parseTalosconfig(text: string): Talosconfig {
  // it comes from a Secret: too deep a document would abort the process in the yaml library
  if (yamlTooDeep(text)) throw new TalosconfigError('', `nests deeper than ${MAX_YAML_DEPTH} levels`);
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    // the YAML parser quotes the offending line, which may hold key material: keep only the position
    const pos = (e as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    throw new TalosconfigError('', `not valid YAML${pos ? ` (line ${pos.line}, column ${pos.col})` : ''}`);
  }
  if (!isRecord(doc)) throw new TalosconfigError('', 'must be a YAML mapping with context and contexts');
  const context = doc['context'];
  if (typeof context !== 'string' || context === '')
    throw new TalosconfigError('context', 'must name the active context');
  const rawContexts = doc['contexts'];
  if (!isRecord(rawContexts)) throw new TalosconfigError('contexts', 'must be a mapping of context names');
  const contexts: Record<string, TalosconfigContext> = {};
  for (const [name, value] of Object.entries(rawContexts)) contexts[name] = parseContext(value, `contexts.${name}`);
  if (!(context in contexts))
    throw new TalosconfigError('context', `names ${JSON.stringify(context)}, which is not in contexts`);
  return { context, contexts };
}

export function serializeTalosconfig(config: Talosconfig): string {
  const b64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64');
  const contexts: Record<string, unknown> = {};
  for (const [name, c] of Object.entries(config.contexts)) {
    contexts[name] = { endpoints: c.endpoints, nodes: c.nodes, ca: b64(c.ca), crt: b64(c.crt), key: b64(c.key) };
  }
  return stringify({ context: config.context, contexts });
}

/** The named context, or the active one. */
export function selectContext(config: Talosconfig, name: string = config.context): TalosconfigContext {
  const c = config.contexts[name];
  if (!c) throw new TalosconfigError('context', `no context named ${JSON.stringify(name)}`);
  return c;
}

/**
 * A private key PEM that Node's TLS accepts. Talos labels PKCS#8 Ed25519 keys `ED25519 PRIVATE KEY`,
 * which OpenSSL's decoder rejects; the same body under the generic `PRIVATE KEY` label loads.
 */
export function nodeTlsKey(pem: string): string {
  return pem.replace(/-----(BEGIN|END) ED25519 PRIVATE KEY-----/g, '-----$1 PRIVATE KEY-----');
}
