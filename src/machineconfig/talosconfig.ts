// The talosconfig a cluster's administrators use (talosctl's client configuration): a client
// certificate signed by the Talos OS CA carrying roles in Subject O, plus the CA to pin, in
// talosctl's YAML.
import * as x509 from '@peculiar/x509';
import { stringify } from 'yaml';
import { base64OfText, decodeBase64Strict } from './base64.js';
import { toNodeLoadableKeyPem } from './pem.js';
import { issueCertificate, type CertAndKeyPem } from './pki.js';

/** `gen config` gives the admin talosconfig all rights. */
export const DEFAULT_TALOS_ROLES: readonly string[] = ['os:admin'];

/** Talosconfig client certificates live one year (8 760 h) from their NotBefore. */
export const TALOS_CLIENT_CERT_LIFETIME_MS = 8_760 * 60 * 60 * 1000;

export interface TalosClientCertOptions {
  /** one Subject O value per role; default [os:admin] */
  roles?: readonly string[];
  /** NotBefore; default now */
  now?: Date;
}

/**
 * A Talos API client certificate: no CN, roles as O, KeyUsage DigitalSignature and EKU exactly
 * [clientAuth] (apid rejects any other EKU list), key type following the OS CA's.
 */
export async function issueTalosClientCertificate(
  osCA: CertAndKeyPem,
  options: TalosClientCertOptions = {},
): Promise<CertAndKeyPem> {
  const roles = [...(options.roles ?? DEFAULT_TALOS_ROLES)];
  if (roles.some((r) => r.trim() === '')) throw new Error('Talos roles must be non-empty strings');
  return issueCertificate(osCA, {
    organizations: roles,
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    extKeyUsage: ['clientAuth'],
    lifetimeMs: TALOS_CLIENT_CERT_LIFETIME_MS,
    now: options.now,
  });
}

/** One talosconfig context as the file holds it: PEMs base64-encoded, the key in Talos's label. */
export interface TalosconfigContext {
  /** apid addresses (host or host:port, port 50000 by default); gen config writes an empty list */
  endpoints: string[];
  /** default target nodes */
  nodes?: string[];
  /** base64 of the OS CA certificate PEM */
  ca: string;
  /** base64 of the client certificate PEM */
  crt: string;
  /** base64 of the client private key PEM */
  key: string;
}

export interface Talosconfig {
  /** the active context */
  context: string;
  contexts: Record<string, TalosconfigContext>;
}

export interface TalosconfigOptions extends TalosClientCertOptions {
  /** the context name, as gen config uses the cluster name */
  clusterName: string;
  /** the bundle's OS CA (certs.os); its key signs the client certificate and is not written out */
  osCA: CertAndKeyPem;
  endpoints?: string[];
  nodes?: string[];
}

/** A talosconfig with one context named after the cluster, holding a fresh client certificate. */
export async function generateTalosconfig(options: TalosconfigOptions): Promise<Talosconfig> {
  if (options.clusterName === '') throw new Error('a talosconfig needs a cluster name for its context');
  const client = await issueTalosClientCertificate(options.osCA, options);
  const context: TalosconfigContext = {
    endpoints: [...(options.endpoints ?? [])],
    ...(options.nodes && options.nodes.length > 0 ? { nodes: [...options.nodes] } : {}),
    ca: base64OfText(options.osCA.crt),
    crt: base64OfText(client.crt),
    key: base64OfText(client.key),
  };
  return { context: options.clusterName, contexts: { [options.clusterName]: context } };
}

/** talosctl's file layout: `context`, then `contexts.<name>` with endpoints, nodes, ca, crt, key in that order. */
export function talosconfigToYaml(config: Talosconfig): string {
  const contexts = Object.fromEntries(
    Object.entries(config.contexts).map(([name, c]) => [
      name,
      { endpoints: c.endpoints, ...(c.nodes ? { nodes: c.nodes } : {}), ca: c.ca, crt: c.crt, key: c.key },
    ]),
  );
  return stringify({ context: config.context, contexts }, { indent: 4, lineWidth: 0 });
}

/** PEMs ready for node:tls / grpc-js credentials. */
export interface NodeTlsCredentials {
  /** the OS CA certificate to pin */
  ca: string;
  cert: string;
  /** the client key with `ED25519 PRIVATE KEY` re-labelled `PRIVATE KEY`, which OpenSSL refuses otherwise */
  key: string;
}

function decodePemField(context: TalosconfigContext, field: 'ca' | 'crt' | 'key'): string {
  const bytes = decodeBase64Strict(context[field]);
  if (!bytes || bytes.length === 0) throw new Error(`talosconfig context field ${field} is not base64 of a PEM`);
  return bytes.toString('utf8');
}

/** The context's certificates and key as Node's TLS loads them. */
export function nodeTlsCredentials(context: TalosconfigContext): NodeTlsCredentials {
  return {
    ca: decodePemField(context, 'ca'),
    cert: decodePemField(context, 'crt'),
    key: toNodeLoadableKeyPem(decodePemField(context, 'key')),
  };
}
