// kube-apiserver's EncryptionConfiguration (--encryption-provider-config), for the aesgcm and identity
// providers: the same file works for both servers, and is refused for the same mistakes. Rules are
// matched as kube-apiserver matches them: `<resource>` for the core group, `<resource>.<group>`
// otherwise, then `*.<group>`, then `*.*`; a resource not matched by any rule is stored as is.
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse as parseYaml, YAMLError } from 'yaml';
import { AES_KEY_SIZES, type AesGcmKey } from './aesgcm.js';

export const ENCRYPTION_CONFIG_API_VERSION = 'apiserver.config.k8s.io/v1';
export const ENCRYPTION_CONFIG_KIND = 'EncryptionConfiguration';
export const DEFAULT_ENCRYPTION_CONFIG_FILE = 'encryption-config.yaml';

export type EncryptionProvider = { kind: 'aesgcm'; keys: AesGcmKey[] } | { kind: 'identity' };

export interface EncryptionRule {
  /** as written: `secrets`, `kubernetesclusters.vitistack.io`, `*.vitistack.io`, `*.`, `*.*` */
  resources: string[];
  /** the first writes; all read */
  providers: EncryptionProvider[];
}

export interface EncryptionConfig {
  rules: EncryptionRule[];
}

/** one problem in the file, worded as kube-apiserver's field errors are: `resources[0].providers: Required value: ...` */
export interface ConfigFieldError {
  field: string;
  message: string;
}

/**
 * The configuration file is refused: every problem found, so an operator fixes them in one go.
 * (storage cannot use machinery's StatusError; this is a startup error, never a client's.)
 */
export class EncryptionConfigError extends Error {
  constructor(
    readonly source: string,
    readonly causes: ConfigFieldError[],
  ) {
    const msgs = causes.map((c) => c.message);
    super(`invalid ${ENCRYPTION_CONFIG_KIND} "${source}": ${msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`}`);
    this.name = 'EncryptionConfigError';
  }
}

type FieldError = ConfigFieldError;

const show = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v) : v === undefined ? 'null' : JSON.stringify(v);

const fieldErr = {
  required: (field: string, detail: string): FieldError => ({ field, message: `${field}: Required value: ${detail}` }),
  invalid: (field: string, value: unknown, detail: string): FieldError => ({
    field,
    message: `${field}: Invalid value: ${show(value)}: ${detail}`,
  }),
  notSupported: (field: string, value: unknown, supported: string[]): FieldError => ({
    field,
    message: `${field}: Unsupported value: ${show(value)}: supported values: ${supported.map((x) => JSON.stringify(x)).join(', ')}`,
  }),
  duplicate: (field: string, value: unknown): FieldError => ({
    field,
    message: `${field}: Duplicate value: ${show(value)}`,
  }),
};

const SUPPORTED = ['aesgcm', 'identity'];
const KNOWN_UNSUPPORTED = ['kms', 'aescbc', 'secretbox'];
const NON_REST = ['apiserveripinfo', 'serviceipallocations', 'servicenodeportallocations'];

/** `<resource>.<group>` split at the first dot, as schema.ParseGroupResource does */
function splitResource(res: string): { resource: string; group: string } {
  const dot = res.indexOf('.');
  return dot < 0 ? { resource: res, group: '' } : { resource: res.slice(0, dot), group: res.slice(dot + 1) };
}

function canonical(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource === '*' ? '*.' : resource;
}

/** the providers for a resource (`secrets`, `things.example.com`), or undefined when no rule matches */
export function providersForResource(
  config: EncryptionConfig,
  resource: string,
): readonly EncryptionProvider[] | undefined {
  const { resource: r, group: g } = splitResource(resource);
  for (const candidate of [canonical(r, g), canonical('*', g), '*.*']) {
    const rule = config.rules.find((x) => x.resources.some((res) => normalize(res) === candidate));
    if (rule) return rule.providers;
  }
  return undefined;
}

function normalize(res: string): string {
  const { resource, group } = splitResource(res);
  return canonical(resource, group);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and validates the file's text (YAML or JSON). Throws EncryptionConfigError listing every problem. */
export function parseEncryptionConfig(text: string, source = 'encryption provider config'): EncryptionConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    // the parser's own message quotes the offending line, which may hold a key: report the position only
    const where =
      err instanceof YAMLError && err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
    const code = err instanceof YAMLError ? ` (${err.code})` : '';
    throw new EncryptionConfigError(source, [{ field: '', message: `not valid YAML or JSON${where}${code}` }]);
  }
  const errs: FieldError[] = [];
  const config = validate(doc, errs);
  if (errs.length > 0) throw new EncryptionConfigError(source, errs);
  return config;
}

export async function loadEncryptionConfig(path: string): Promise<EncryptionConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`error reading encryption provider configuration file "${path}": ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseEncryptionConfig(text, path);
}

function validate(doc: unknown, errs: FieldError[]): EncryptionConfig {
  if (!isObject(doc)) {
    errs.push(fieldErr.invalid('', typeof doc, `must be an ${ENCRYPTION_CONFIG_KIND} object`));
    return { rules: [] };
  }
  if (doc.apiVersion !== ENCRYPTION_CONFIG_API_VERSION)
    errs.push(fieldErr.notSupported('apiVersion', doc.apiVersion ?? '', [ENCRYPTION_CONFIG_API_VERSION]));
  if (doc.kind !== ENCRYPTION_CONFIG_KIND)
    errs.push(fieldErr.notSupported('kind', doc.kind ?? '', [ENCRYPTION_CONFIG_KIND]));
  if (!Array.isArray(doc.resources) || doc.resources.length === 0) {
    errs.push(fieldErr.required('resources', 'at least one resources is required'));
    return { rules: [] };
  }
  const earlier = new Map<string, string>(); // canonical resource -> path of the rule that lists it
  const rules = doc.resources.map((entry, i): EncryptionRule => {
    const path = `resources[${i}]`;
    if (!isObject(entry)) {
      errs.push(fieldErr.invalid(path, entry, 'must be an object with resources and providers'));
      return { resources: [], providers: [] };
    }
    const resources = validateResourceList(entry.resources, `${path}.resources`, errs);
    checkAgainstEarlierRules(resources, `${path}.resources`, earlier, errs);
    return { resources, providers: validateProviders(entry.providers, `${path}.providers`, errs) };
  });
  return { rules };
}

function validateResourceList(list: unknown, path: string, errs: FieldError[]): string[] {
  if (!Array.isArray(list) || list.length === 0) {
    errs.push(fieldErr.required(path, `at least one ${path} is required`));
    return [];
  }
  const good: string[] = [];
  list.forEach((res, j) => {
    const p = `${path}[${j}]`;
    if (typeof res !== 'string' || res === '')
      return void errs.push(fieldErr.required(p, 'a resource name is required'));
    const { resource, group } = splitResource(res);
    if (res !== res.toLowerCase())
      errs.push(fieldErr.invalid(p, res, 'resource name should not contain any upper case characters'));
    else if (res === '*')
      errs.push(
        fieldErr.invalid(
          p,
          res,
          "use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources",
        ),
      );
    else if (NON_REST.includes(res))
      errs.push(fieldErr.invalid(p, res, 'resources which do not have REST API/s cannot be encrypted'));
    else if (group === 'events.k8s.io')
      errs.push(
        fieldErr.invalid(
          p,
          res,
          "'*.events.k8s.io' objects are stored using the 'events' API group in etcd. Use 'events' instead in the config file",
        ),
      );
    else if (group === 'extensions')
      errs.push(fieldErr.invalid(p, res, "'extensions' group has been removed and cannot be used for encryption"));
    else if (group === '*' && resource !== '*')
      errs.push(fieldErr.invalid(p, res, 'encrypting the same resource across groups is not supported'));
    else good.push(res);
  });
  const canon = good.map(normalize);
  if (new Set(canon).size !== canon.length) {
    errs.push(fieldErr.invalid(path, list, 'each resource name must be unique'));
  } else if (canon.some((c) => c !== '*.*' && canon.some((w) => w !== c && covers(w, c)))) {
    errs.push(
      fieldErr.invalid(
        path,
        list,
        "using overlapping resources such as 'secrets' and '*.' in the same resource list is not allowed as they will be masked",
      ),
    );
  }
  return good;
}

/** whether wildcard rule `w` (canonical) matches canonical resource `c` */
function covers(w: string, c: string): boolean {
  if (w === '*.*') return true;
  const wild = splitResource(w);
  const res = splitResource(c);
  return wild.resource === '*' && res.group === wild.group;
}

// A later rule for a resource an earlier rule already matches could never apply: kube-apiserver refuses
// one masked by an earlier wildcard; listing the same resource in two rules is refused here as well.
function checkAgainstEarlierRules(
  resources: string[],
  path: string,
  earlier: Map<string, string>,
  errs: FieldError[],
): void {
  const mine = resources.map(normalize);
  for (const c of mine) {
    const same = earlier.get(c);
    if (same !== undefined) {
      errs.push(
        fieldErr.invalid(
          path,
          c,
          `resource "${c}" is already listed in ${same}; a resource may appear in only one entry`,
        ),
      );
      continue;
    }
    const mask = [canonical('*', splitResource(c).group), '*.*'].find((w) => earlier.has(w));
    if (mask !== undefined) errs.push(fieldErr.invalid(path, c, `resource "${c}" is masked by earlier rule "${mask}"`));
  }
  for (const c of mine) if (!earlier.has(c)) earlier.set(c, path);
}

function validateProviders(list: unknown, path: string, errs: FieldError[]): EncryptionProvider[] {
  if (!Array.isArray(list) || list.length === 0) {
    errs.push(fieldErr.required(path, `at least one ${path} is required`));
    return [];
  }
  const keyNames = new Set<string>(); // aesgcm key names of this rule: a stored prefix must name one key
  const providers: EncryptionProvider[] = [];
  list.forEach((entry, j) => {
    const p = `${path}[${j}]`;
    if (!isObject(entry)) return void errs.push(fieldErr.invalid(p, entry, 'must be an object naming one provider'));
    const names = Object.keys(entry);
    for (const n of names.filter((x) => !SUPPORTED.includes(x))) {
      const what = KNOWN_UNSUPPORTED.includes(n) ? '' : 'unknown provider; ';
      errs.push({
        field: `${p}.${n}`,
        message: `${p}.${n}: Unsupported value: "${n}": ${what}only the aesgcm and identity providers are supported`,
      });
    }
    const chosen = names.filter((x) => SUPPORTED.includes(x));
    if (names.length === 0)
      return void errs.push(
        fieldErr.invalid(p, entry, 'provider does not contain any of the expected providers: aesgcm, identity'),
      );
    if (names.length > 1)
      return void errs.push(
        fieldErr.invalid(
          p,
          names,
          'more than one provider specified in a single element, should split into different list elements',
        ),
      );
    if (chosen[0] === 'identity') {
      if (!isObject(entry.identity))
        errs.push(fieldErr.invalid(`${p}.identity`, entry.identity ?? null, 'must be an object: identity: {}'));
      else providers.push({ kind: 'identity' });
    } else if (chosen[0] === 'aesgcm') {
      const keys = validateAesGcm(entry.aesgcm, `${p}.aesgcm`, keyNames, errs);
      if (keys) providers.push({ kind: 'aesgcm', keys });
    }
  });
  return providers;
}

function validateAesGcm(
  conf: unknown,
  path: string,
  keyNames: Set<string>,
  errs: FieldError[],
): AesGcmKey[] | undefined {
  const list = isObject(conf) ? conf.keys : undefined;
  if (!Array.isArray(list) || list.length === 0) {
    errs.push(fieldErr.required(`${path}.keys`, 'at least one keys is required'));
    return undefined;
  }
  const keys: AesGcmKey[] = [];
  const before = errs.length;
  list.forEach((k, i) => {
    const p = `${path}.keys[${i}]`;
    const { name, secret } = isObject(k) ? k : {};
    if (typeof name !== 'string' || name === '')
      errs.push(fieldErr.required(`${p}.name`, 'name is a mandatory field for a key'));
    else if (name.includes(':'))
      errs.push(
        fieldErr.invalid(`${p}.name`, name, "must not contain ':' (the name ends every stored value's prefix)"),
      );
    else if (keyNames.has(name)) errs.push(fieldErr.duplicate(`${p}.name`, name));
    else keyNames.add(name);
    const decoded = decodeSecret(secret, `${p}.secret`, errs);
    if (decoded && typeof name === 'string') keys.push({ name, secret: decoded });
  });
  return errs.length === before ? keys : undefined;
}

// Values are reported as REDACTED, as kube-apiserver does: a key must never reach a log.
function decodeSecret(secret: unknown, path: string, errs: FieldError[]): Buffer | undefined {
  if (typeof secret !== 'string' || secret === '') {
    errs.push(fieldErr.required(path, 'secret is a mandatory field for a key'));
    return undefined;
  }
  if (secret.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(secret)) {
    errs.push(fieldErr.invalid(path, 'REDACTED', 'secrets must be base64 encoded'));
    return undefined;
  }
  const bytes = Buffer.from(secret, 'base64');
  if (!(AES_KEY_SIZES as readonly number[]).includes(bytes.length)) {
    errs.push(
      fieldErr.invalid(
        path,
        'REDACTED',
        `secret is not of the expected length, got ${bytes.length}, expected one of [${AES_KEY_SIZES.join(' ')}]`,
      ),
    );
    return undefined;
  }
  return bytes;
}

function defaultConfigText(secret: string): string {
  return `# Created by talos-fleet-apiserver on first start, because no --encryption-provider-config was given.
# Secrets are encrypted at rest with this key: keep this file private, and back it up together with
# the data directory (without it the stored secrets cannot be read). To rotate, put a new key first
# in the keys list, restart, rewrite the secrets, then remove the old key.
apiVersion: ${ENCRYPTION_CONFIG_API_VERSION}
kind: ${ENCRYPTION_CONFIG_KIND}
resources:
  - resources:
      - secrets
    providers:
      - aesgcm:
          keys:
            - name: key1
              secret: ${secret}
      - identity: {}
`;
}

/**
 * Standalone mode without --encryption-provider-config: the path of `<dataDir>/encryption-config.yaml`,
 * created on first use with one random 256-bit aesgcm key for secrets (mode 0600, written in full
 * before it appears under its name, never overwritten).
 */
export async function ensureDefaultEncryptionConfig(dataDir: string): Promise<string> {
  const dir = resolve(dataDir);
  const path = join(dir, DEFAULT_ENCRYPTION_CONFIG_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (await existingFile(path)) return path;
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.chmod(0o600); // independent of the umask
    await fh.writeFile(defaultConfigText(randomBytes(32).toString('base64')));
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    // link, unlike rename, fails when the name exists: a concurrent first start keeps the winner's key
    await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await syncDir(dir);
  return path;
}

async function existingFile(path: string): Promise<boolean> {
  try {
    const st = await lstat(path);
    if (!st.isFile()) throw new Error(`${path} exists but is not a regular file`);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // some filesystems refuse fsync on a directory; the file itself is already durable
  } finally {
    await fh.close();
  }
}
