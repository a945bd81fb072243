// Just enough of a talosctl secrets bundle (secrets.yaml) for the simulator: the OS CA pair at
// certs.os.{crt,key}, each base64 of PEM. Nodes then trust that CA and carry server certs signed
// with its key, as a real cluster made from the same bundle would.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { loadIssuer, type Issuer } from './pki.js';

function pemAt(doc: unknown, path: string[]): string {
  let v: unknown = doc;
  for (const k of path) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  const where = path.join('.');
  if (typeof v !== 'string' || v.trim() === '') throw new Error(`secrets bundle: ${where} is missing`);
  const pem = Buffer.from(v, 'base64').toString('utf8');
  if (!pem.includes('-----BEGIN ')) throw new Error(`secrets bundle: ${where} is not base64 of a PEM block`);
  return pem;
}

/** The OS CA of a secrets.yaml text. */
export async function osCAFromSecrets(text: string): Promise<Issuer> {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    throw new Error('secrets bundle: not valid YAML');
  }
  const crt = pemAt(doc, ['certs', 'os', 'crt']);
  const key = pemAt(doc, ['certs', 'os', 'key']);
  try {
    return await loadIssuer(crt, key);
  } catch (e) {
    throw new Error(`secrets bundle: certs.os cannot be loaded: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export async function osCAFromSecretsFile(file: string): Promise<Issuer> {
  return osCAFromSecrets(await readFile(file, 'utf8'));
}
