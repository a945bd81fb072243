// secrets.yaml in talosctl's format: top-level `cluster`, `secrets`, `trustdinfo`,
// `certs`; certificate/key pairs as {crt, key} and lone keys as {key}, each base64 of the PEM.
import { isMap, isScalar, parseDocument, stringify } from 'yaml';
import { MAX_YAML_DEPTH, yamlTooDeep } from '../machinery/yamldepth.js';
import type { FieldError } from '../machinery/errors.js';
import { base64OfText, decodeBase64Strict } from './base64.js';
import type { SecretsBundle } from './bundle.js';
import { CA_NAMES, checkSecretsBundle, type LooseSecretsBundle } from './bundlecheck.js';
import { InvalidSecretsBundleError, secretFieldErr } from './bundleerror.js';

/** Far above any real bundle (about 10 KiB with an RSA 4096 key); bounds the work done on hostile input. */
export const MAX_SECRETS_YAML_BYTES = 1024 * 1024;

export type ParseSecretsYamlResult =
  | { ok: true; bundle: SecretsBundle }
  | { ok: false; error: InvalidSecretsBundleError };

type Plain = Record<string, unknown>;

/** Reads the file's mappings and strings, recording type problems; value checks come after. */
class ShapeReader {
  readonly problems: FieldError[] = [];

  mapping(parent: Plain | undefined, key: string, path: string): Plain | undefined {
    const value = parent?.[key];
    if (value === undefined || value === null) return undefined; // reported as missing by the value checks
    // plain objects only: tags such as !!binary, !!set or !!omap give Uint8Array, Set or Map values
    if (typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
      this.problems.push(secretFieldErr.invalid(path, 'must be a mapping'));
      return undefined;
    }
    return value as Plain;
  }

  text(parent: Plain | undefined, key: string, path: string): string | undefined {
    const value = parent?.[key];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') {
      this.problems.push(secretFieldErr.invalid(path, 'must be a string'));
      return undefined;
    }
    return value;
  }

  /** a `crt` or `key` field: base64 of PEM text */
  pem(parent: Plain | undefined, key: string, path: string): string | undefined {
    const encoded = this.text(parent, key, path);
    if (encoded === undefined) return undefined;
    const bytes = decodeBase64Strict(encoded);
    if (!bytes) {
      this.problems.push(secretFieldErr.invalid(path, 'must be base64 of a PEM block'));
      return undefined;
    }
    return bytes.toString('utf8');
  }
}

function readBundle(root: Plain, r: ShapeReader): LooseSecretsBundle {
  const cluster = r.mapping(root, 'cluster', 'cluster');
  const secrets = r.mapping(root, 'secrets', 'secrets');
  const trustdinfo = r.mapping(root, 'trustdinfo', 'trustdinfo');
  const certs = r.mapping(root, 'certs', 'certs');
  const pair = (name: string) => {
    const m = r.mapping(certs, name, `certs.${name}`);
    return { crt: r.pem(m, 'crt', `certs.${name}.crt`), key: r.pem(m, 'key', `certs.${name}.key`) };
  };
  const serviceAccount = r.mapping(certs, 'k8sserviceaccount', 'certs.k8sserviceaccount');
  return {
    cluster: { id: r.text(cluster, 'id', 'cluster.id'), secret: r.text(cluster, 'secret', 'cluster.secret') },
    secrets: {
      bootstraptoken: r.text(secrets, 'bootstraptoken', 'secrets.bootstraptoken'),
      secretboxencryptionsecret: r.text(secrets, 'secretboxencryptionsecret', 'secrets.secretboxencryptionsecret'),
      aescbcencryptionsecret: r.text(secrets, 'aescbcencryptionsecret', 'secrets.aescbcencryptionsecret'),
    },
    trustdinfo: { token: r.text(trustdinfo, 'token', 'trustdinfo.token') },
    certs: {
      ...(Object.fromEntries(CA_NAMES.map((name) => [name, pair(name)])) as Record<
        (typeof CA_NAMES)[number],
        { crt?: string; key?: string }
      >),
      k8sserviceaccount: { key: r.pem(serviceAccount, 'key', 'certs.k8sserviceaccount.key') },
    },
  };
}

/** A field that failed the shape reading is absent afterwards; do not report it a second time as missing. */
function isUnder(path: string, reported: FieldError[]): boolean {
  return reported.some((p) => path === p.field || path.startsWith(`${p.field}.`));
}

/**
 * File order for problems: the value checks visit every field in order, so the Required errors of
 * an empty bundle list all paths; a mapping's problem ranks with its first field.
 */
const FIELD_ORDER = checkSecretsBundle({}).map((p) => p.field);

function rank(path: string): number {
  // a field the empty bundle does not list (aescbcencryptionsecret) ranks with its section
  for (let p = path; p !== ''; p = p.slice(0, Math.max(p.lastIndexOf('.'), 0))) {
    const i = FIELD_ORDER.findIndex((f) => f === p || f.startsWith(`${p}.`));
    if (i >= 0) return i;
  }
  return -1;
}

function failure(problems: FieldError[]): ParseSecretsYamlResult {
  return { ok: false, error: new InvalidSecretsBundleError(problems) };
}

/**
 * Reads a talosctl secrets.yaml. Never throws on bad input: the result lists every missing or
 * malformed field with its path, and no message contains secret material. Unknown keys are
 * ignored, as talosctl ignores them.
 */
export function parseSecretsYaml(text: string): ParseSecretsYamlResult {
  if (Buffer.byteLength(text, 'utf8') > MAX_SECRETS_YAML_BYTES) {
    return failure([secretFieldErr.invalid('', `secrets.yaml must be at most ${MAX_SECRETS_YAML_BYTES} bytes`)]);
  }
  // a Secret anyone may write: too deep a document would abort the process in the yaml library
  if (yamlTooDeep(text))
    return failure([secretFieldErr.invalid('', `the document nests deeper than ${MAX_YAML_DEPTH} levels`)]);
  // prettyErrors computes linePos (it also quotes the source in e.message, which is never used here)
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    // YAML error messages quote the offending line, which may be a secret: report position only
    return failure(
      doc.errors.map((e) =>
        secretFieldErr.invalid(
          '',
          `not valid YAML (${e.code} at line ${e.linePos?.[0].line ?? '?'}, column ${e.linePos?.[0].col ?? '?'})`,
        ),
      ),
    );
  }
  if (!isMap(doc.contents)) {
    const what =
      doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null) ? 'empty' : 'not a mapping';
    return failure([
      secretFieldErr.invalid('', `the document is ${what}; expected cluster, secrets, trustdinfo and certs`),
    ]);
  }
  let root: Plain;
  try {
    root = doc.toJS({ maxAliasCount: 100 }) as Plain;
  } catch (e) {
    // toJS throws only for aliases: too many expansions (a "billion laughs" document) or no anchor
    const bomb = e instanceof Error && /excessive alias/i.test(e.message);
    return failure([
      secretFieldErr.invalid(
        '',
        bomb ? 'the document expands too many aliases' : 'an alias has no anchor defined before it',
      ),
    ]);
  }
  const reader = new ShapeReader();
  const loose = readBundle(root, reader);
  const valueProblems = checkSecretsBundle(loose).filter((p) => !isUnder(p.field, reader.problems));
  // Array.prototype.sort is stable, so problems of one field keep their order
  const problems = [...reader.problems, ...valueProblems].sort((a, b) => rank(a.field) - rank(b.field));
  if (problems.length > 0) return failure(problems);
  return { ok: true, bundle: completeBundle(loose) };
}

/** The checked bundle as its exact type; only called once checkSecretsBundle found every field. */
function completeBundle(b: LooseSecretsBundle): SecretsBundle {
  const need = (v: string | undefined): string => {
    if (v === undefined) throw new Error('completeBundle called on an unchecked bundle');
    return v;
  };
  const pair = (p: { crt?: string; key?: string } | undefined) => ({ crt: need(p?.crt), key: need(p?.key) });
  const aescbc = b.secrets?.aescbcencryptionsecret;
  return {
    cluster: { id: need(b.cluster?.id), secret: need(b.cluster?.secret) },
    secrets: {
      bootstraptoken: need(b.secrets?.bootstraptoken),
      ...(aescbc
        ? { aescbcencryptionsecret: aescbc }
        : { secretboxencryptionsecret: need(b.secrets?.secretboxencryptionsecret) }),
    },
    trustdinfo: { token: need(b.trustdinfo?.token) },
    certs: {
      etcd: pair(b.certs?.etcd),
      k8s: pair(b.certs?.k8s),
      k8saggregator: pair(b.certs?.k8saggregator),
      k8sserviceaccount: { key: need(b.certs?.k8sserviceaccount?.key) },
      os: pair(b.certs?.os),
    },
  };
}

const pairToYaml = (p: { crt: string; key: string }) => ({ crt: base64OfText(p.crt), key: base64OfText(p.key) });

/** Writes a bundle as talosctl's secrets.yaml (keys in talosctl's order, unset encryption secret omitted). */
export function secretsToYaml(bundle: SecretsBundle): string {
  const { secrets, certs } = bundle;
  const doc = {
    cluster: { id: bundle.cluster.id, secret: bundle.cluster.secret },
    secrets: {
      bootstraptoken: secrets.bootstraptoken,
      ...(secrets.aescbcencryptionsecret ? { aescbcencryptionsecret: secrets.aescbcencryptionsecret } : {}),
      ...(secrets.secretboxencryptionsecret ? { secretboxencryptionsecret: secrets.secretboxencryptionsecret } : {}),
    },
    trustdinfo: { token: bundle.trustdinfo.token },
    certs: {
      etcd: pairToYaml(certs.etcd),
      k8s: pairToYaml(certs.k8s),
      k8saggregator: pairToYaml(certs.k8saggregator),
      k8sserviceaccount: { key: base64OfText(certs.k8sserviceaccount.key) },
      os: pairToYaml(certs.os),
    },
  };
  // lineWidth 0: never fold the long base64 scalars
  return stringify(doc, { indent: 4, lineWidth: 0 });
}
