// Certificates and keys in typed documents (1.14+: KubeAPIServerCAConfig, KubeAggregatorCAConfig,
// KubeServiceAccountConfig, ...), written as plain PEM text. Fields are found by what they hold, so
// that every document kind is covered: every string with a PEM block is checked by its label, and a
// mapping holding exactly one certificate and one private key (`issuingCA` cert+key) must hold a
// matching pair.
import type { X509Certificate, KeyObject } from 'node:crypto';
import { PEM_LABEL } from '../pem.js';
import type { RuleContext, TypedDocument } from './context.js';
import { joinIndex, joinKey } from './problem.js';
import { keyMatchesCertificate, pemKindOf, readCertificate, readPrivateKey } from './pemfields.js';
import { isPlainMap } from './values.js';
import type { Plain } from './yamltree.js';

/** Documents whose certificates are CAs. */
const CA_DOCUMENTS = new Set(['KubeAPIServerCAConfig', 'KubeAggregatorCAConfig']);
/** The Kubernetes CA document: a worker has its certificates (acceptedCAs) but never its key. */
const KUBERNETES_CA_DOCUMENT = 'KubeAPIServerCAConfig';

const KEY_LABELS = new Set<string>([
  PEM_LABEL.ed25519PrivateKey,
  PEM_LABEL.ecPrivateKey,
  PEM_LABEL.rsaPrivateKey,
  PEM_LABEL.pkcs8PrivateKey,
]);

interface Found {
  cert?: { path: string; value: X509Certificate };
  key?: { path: string; value: KeyObject };
  certs: number;
  keys: number;
}

function checkString(ctx: RuleContext, doc: TypedDocument, path: string, value: string, found: Found): void {
  const pem = pemKindOf(value);
  if (!pem) return;
  if (pem.label === PEM_LABEL.certificate) {
    found.certs++;
    const cert = readCertificate(doc.scope, path, value, 'pem', CA_DOCUMENTS.has(doc.kind));
    if (cert) found.cert = { path, value: cert };
  } else if (KEY_LABELS.has(pem.label)) {
    found.keys++;
    if (ctx.isWorker && doc.kind === KUBERNETES_CA_DOCUMENT) {
      doc.scope.error(path, 'a worker must not hold the Kubernetes CA private key: only control planes issue with it');
      return;
    }
    const key = readPrivateKey(doc.scope, path, value, 'pem');
    if (key) found.key = { path, value: key };
  }
}

function walk(ctx: RuleContext, doc: TypedDocument, value: Plain, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      // a list of PEM strings (acceptedCAs): each is checked on its own, with no key beside it
      if (typeof item === 'string') checkString(ctx, doc, joinIndex(path, i), item, { certs: 0, keys: 0 });
      else walk(ctx, doc, item, joinIndex(path, i));
    });
    return;
  }
  if (!isPlainMap(value)) return;
  const found: Found = { certs: 0, keys: 0 };
  for (const [key, child] of Object.entries(value)) {
    const childPath = joinKey(path, key);
    if (typeof child === 'string') checkString(ctx, doc, childPath, child, found);
    else walk(ctx, doc, child, childPath);
  }
  if (
    found.certs === 1 &&
    found.keys === 1 &&
    found.cert &&
    found.key &&
    !keyMatchesCertificate(found.cert.value, found.key.value)
  ) {
    doc.scope.error(found.key.path, `does not match the certificate in ${found.cert.path}`);
  }
}

export function checkDocumentCertificates(ctx: RuleContext): void {
  for (const doc of ctx.typed) if (doc.knownToTarget) walk(ctx, doc, doc.value, '');
}
