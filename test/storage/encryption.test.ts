import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/storage/embedded/store.js';
import {
  EncryptionConfigError,
  ensureDefaultEncryptionConfig,
  loadEncryptionConfig,
  parseEncryptionConfig,
  providersForResource,
  type EncryptionConfig,
} from '../../src/storage/encryption/config.js';
import { resourceOfKey, withEncryption } from '../../src/storage/encryption/storage.js';
import { StorageError, type Storage, type StorageEvent } from '../../src/storage/storage.js';
import { runStorageConformance } from './conformance.js';

const b = (s: string): Buffer => Buffer.from(s);
const key16 = randomBytes(16).toString('base64');
const key24 = randomBytes(24).toString('base64');
const key32a = randomBytes(32).toString('base64');
const key32b = randomBytes(32).toString('base64');

type Provider = { aesgcm: { keys: { name: string; secret: string }[] } } | { identity: Record<string, never> };
const aesgcm = (...keys: [string, string][]): Provider => ({
  aesgcm: { keys: keys.map(([name, secret]) => ({ name, secret })) },
});
const identity: Provider = { identity: {} };

/** the config through the parser, as JSON text (YAML is tested separately) */
function config(...rules: { resources: string[]; providers: Provider[] }[]): EncryptionConfig {
  return parseEncryptionConfig(
    JSON.stringify({ apiVersion: 'apiserver.config.k8s.io/v1', kind: 'EncryptionConfiguration', resources: rules }),
  );
}

const byRegistry = resourceOfKey('/registry');

async function tempDir(dirs: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tf-encryption-'));
  dirs.push(dir);
  return dir;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function bytesOnDisk(dir: string, needle: string): Promise<boolean> {
  const files = await filesUnder(dir);
  expect(files.length).toBeGreaterThan(0);
  for (const f of files) if ((await readFile(f)).includes(b(needle))) return true;
  return false;
}

/** the Storage methods of a store as plain bound functions */
function bind(store: Storage): Storage {
  const methods = [
    'currentRevision',
    'compactedRevision',
    'create',
    'get',
    'list',
    'update',
    'delete',
    'watch',
    'compact',
    'close',
  ] as const;
  return Object.fromEntries(
    methods.map((m) => [m, (store[m] as (...a: unknown[]) => unknown).bind(store)]),
  ) as unknown as Storage;
}

async function storageFailure(p: Promise<unknown>): Promise<StorageError> {
  const err = await p.then(
    () => expect.fail('expected a StorageError'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorageError);
  return err as StorageError;
}

function configFailure(text: string): EncryptionConfigError {
  try {
    parseEncryptionConfig(text, 'test-config.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(EncryptionConfigError);
    return err as EncryptionConfigError;
  }
  return expect.fail('expected the config to be refused');
}

runStorageConformance('embedded+encryption', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tf-encryption-'));
  const inner = await openEmbeddedStore(dir);
  // conformance keys live under /registry/conformance.test/things/: *.* (with the core group) covers them
  const store = withEncryption(inner, config({ resources: ['*.*'], providers: [aesgcm(['k1', key32a])] }), byRegistry);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('encryption at rest', () => {
  const dirs: string[] = [];
  const stores: EmbeddedStore[] = [];

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  async function openInner(): Promise<{ dir: string; inner: EmbeddedStore }> {
    const dir = await tempDir(dirs);
    const inner = await openEmbeddedStore(dir);
    stores.push(inner);
    return { dir, inner };
  }

  const secretsWith = (...providers: Provider[]): EncryptionConfig => config({ resources: ['secrets'], providers });

  it('keeps the plaintext of secrets out of the store files, and leaves other resources alone', async () => {
    const { dir, inner } = await openInner();
    const store = withEncryption(inner, secretsWith(aesgcm(['key1', key32a]), identity), byRegistry);
    const plain = `tls.key=${randomBytes(12).toString('hex')}`;
    const updated = `tls.key=${randomBytes(12).toString('hex')}`;
    const open = `cm-${randomBytes(12).toString('hex')}`;
    const created = await store.create('/registry/secrets/default/ca', b(plain));
    expect(created.value).toEqual(b(plain));
    await store.update('/registry/secrets/default/ca', b(updated), created.modRevision);
    await store.create('/registry/configmaps/default/x', b(open));

    const raw = await inner.get('/registry/secrets/default/ca');
    expect(raw!.value.subarray(0, 23).toString()).toBe('k8s:enc:aesgcm:v1:key1:');
    expect((await inner.get('/registry/configmaps/default/x'))!.value).toEqual(b(open));
    expect((await store.get('/registry/secrets/default/ca'))!.value).toEqual(b(updated));
    expect((await store.get('/registry/secrets/default/ca', created.modRevision))!.value).toEqual(b(plain));
    expect((await store.list('/registry/')).kvs.map((kv) => kv.value.toString())).toEqual([open, updated]);

    await inner.close();
    expect(await bytesOnDisk(dir, open)).toBe(true); // the search does find what is stored in the clear
    expect(await bytesOnDisk(dir, plain)).toBe(false);
    expect(await bytesOnDisk(dir, updated)).toBe(false);
  });

  it('stores plaintext when identity is the first provider, and still reads encrypted values', async () => {
    const { dir, inner } = await openInner();
    const encrypting = withEncryption(inner, secretsWith(aesgcm(['key1', key32a])), byRegistry);
    await encrypting.create('/registry/secrets/ns/old', b('old-secret'));
    const store = withEncryption(inner, secretsWith(identity, aesgcm(['key1', key32a])), byRegistry);
    const plain = `plain-${randomBytes(8).toString('hex')}`;
    await store.create('/registry/secrets/ns/new', b(plain));
    expect((await inner.get('/registry/secrets/ns/new'))!.value).toEqual(b(plain));
    expect((await store.get('/registry/secrets/ns/old'))!.value).toEqual(b('old-secret'));
    await inner.close();
    expect(await bytesOnDisk(dir, plain)).toBe(true);
  });

  it('rotates keys: the first key writes, older keys listed after it still read', async () => {
    const { inner } = await openInner();
    const v1 = withEncryption(inner, secretsWith(aesgcm(['key1', key32a])), byRegistry);
    await v1.create('/registry/secrets/ns/a', b('written-with-key1'));

    const v2 = withEncryption(inner, secretsWith(aesgcm(['key2', key32b], ['key1', key32a])), byRegistry);
    expect((await v2.get('/registry/secrets/ns/a'))!.value).toEqual(b('written-with-key1'));
    await v2.create('/registry/secrets/ns/b', b('written-with-key2'));
    expect((await inner.get('/registry/secrets/ns/b'))!.value.subarray(0, 23).toString()).toBe(
      'k8s:enc:aesgcm:v1:key2:',
    );
    const a = (await v2.get('/registry/secrets/ns/a'))!;
    await v2.update(a.key, a.value, a.modRevision); // rewriting moves a value to the new key
    expect((await inner.get('/registry/secrets/ns/a'))!.value.subarray(0, 23).toString()).toBe(
      'k8s:enc:aesgcm:v1:key2:',
    );

    // a second aesgcm provider is as good as a second key
    const v2b = withEncryption(inner, secretsWith(aesgcm(['key3', key16]), aesgcm(['key2', key32b])), byRegistry);
    expect((await v2b.list('/registry/secrets/')).kvs.map((kv) => kv.value.toString())).toEqual([
      'written-with-key1',
      'written-with-key2',
    ]);

    await v1.create('/registry/secrets/ns/c', b('key1-only'));
    const onlyKey2 = withEncryption(inner, secretsWith(aesgcm(['key2', key32b])), byRegistry);
    const err = await storageFailure(onlyKey2.get('/registry/secrets/ns/c'));
    expect(err.code).toBe('Internal');
    expect(err.message).toMatch(
      /failed to decrypt.*\/registry\/secrets\/ns\/c.*aesgcm key "key1".*not in the encryption configuration/,
    );
    expect((await storageFailure(onlyKey2.list('/registry/secrets/'))).code).toBe('Internal');
  });

  it('works with 128-, 192- and 256-bit keys', async () => {
    const { inner } = await openInner();
    for (const [name, secret] of [
      ['k16', key16],
      ['k24', key24],
      ['k32', key32a],
    ] as [string, string][]) {
      const store = withEncryption(inner, secretsWith(aesgcm([name, secret])), byRegistry);
      const kv = await store.create(`/registry/secrets/ns/${name}`, b(`value-${name}`));
      expect((await store.get(kv.key))!.value).toEqual(b(`value-${name}`));
      const raw = (await inner.get(kv.key))!.value;
      // prefix + 12-byte nonce + ciphertext (same length as the plaintext) + 16-byte tag
      expect(raw.length).toBe(`k8s:enc:aesgcm:v1:${name}:`.length + 12 + `value-${name}`.length + 16);
    }
  });

  it('binds a value to its key: ciphertext copied under another key does not decrypt', async () => {
    const { inner } = await openInner();
    const store = withEncryption(inner, secretsWith(aesgcm(['key1', key32a]), identity), byRegistry);
    await store.create('/registry/secrets/ns/admin', b('admin-token'));
    const raw = (await inner.get('/registry/secrets/ns/admin'))!.value;
    await inner.create('/registry/secrets/ns/copy', raw);
    const err = await storageFailure(store.get('/registry/secrets/ns/copy'));
    expect(err.code).toBe('Internal');
    expect(err.message).toMatch(/^failed to decrypt/);
    expect(err.message).not.toContain('admin-token');
  });

  it('detects tampering and never returns garbage', async () => {
    const { inner } = await openInner();
    const store = withEncryption(inner, secretsWith(aesgcm(['key1', key32a])), byRegistry);
    const kv = await store.create('/registry/secrets/ns/s', b('the-secret-value'));
    const raw = (await inner.get(kv.key))!.value;
    const flipped = Buffer.from(raw);
    flipped[flipped.length - 20]! ^= 0x01; // inside the ciphertext
    let cur = await inner.update(kv.key, flipped, kv.modRevision);
    for (const bad of [
      raw.subarray(0, 30),
      b('k8s:enc:aesgcm:v1:key1:'),
      b('plaintext-without-identity'),
      b('k8s:enc:kms:v2:x:abc'),
    ]) {
      const err = await storageFailure(store.get(kv.key));
      expect(err.code).toBe('Internal');
      expect(err.message).toMatch(/^failed to decrypt the value stored at \/registry\/secrets\/ns\/s: /);
      expect(err.message).not.toContain('the-secret-value');
      cur = await inner.update(kv.key, bad, cur.modRevision);
    }
    expect((await storageFailure(store.get(kv.key))).message).toMatch(/no configured provider matches/);
  });

  it('decrypts watch events, prevKv and Conflict values, and ends a watch on an undecryptable value', async () => {
    const { inner } = await openInner();
    const store = withEncryption(inner, secretsWith(aesgcm(['key1', key32a])), byRegistry);
    const r0 = await store.currentRevision();
    const a1 = await store.create('/registry/secrets/ns/a', b('one'));
    const a2 = await store.update(a1.key, b('two'), a1.modRevision);
    const conflict = await storageFailure(store.update(a1.key, b('three'), a1.modRevision));
    expect(conflict.code).toBe('Conflict');
    expect(conflict.current).toEqual(a2);
    await inner.create('/registry/secrets/ns/bad', b('not encrypted'));
    const del = await store.delete(a1.key);
    expect(del.value).toEqual(b('two'));

    const events: StorageEvent[] = [];
    const failed = await new Promise<StorageError>((resolve) => {
      store.watch('/registry/secrets/', r0, { onEvent: (ev) => events.push(ev), onError: resolve });
    });
    expect(failed.code).toBe('Internal');
    expect(events).toEqual([
      { type: 'put', kv: a1, revision: a1.modRevision },
      { type: 'put', kv: a2, prevKv: a1, revision: a2.modRevision },
    ]);

    const ok: StorageEvent[] = [];
    await new Promise<void>((resolve, reject) => {
      const w = store.watch('/registry/secrets/ns/a', a2.modRevision, {
        onEvent: (ev) => {
          ok.push(ev);
          w.close();
          resolve();
        },
        onError: reject,
      });
    });
    expect(ok).toEqual([{ type: 'delete', kv: del, prevKv: a2, revision: del.modRevision }]);
  });

  it('passes watch progress through, and offers requestProgress only when the inner store does', async () => {
    const { inner } = await openInner();
    const cfg = secretsWith(aesgcm(['key1', key32a]));
    const store = withEncryption(inner, cfg, byRegistry);
    const kv = await store.create('/registry/secrets/ns/p', b('x'));
    expect(store.requestProgress).toBeTypeOf('function');
    const progressed = await new Promise<number>((resolve, reject) => {
      const w = store.watch('/registry/secrets/', kv.modRevision, {
        onEvent: () => reject(new Error('no event expected')),
        onError: reject,
        onProgress: (rev) => {
          w.close();
          resolve(rev);
        },
      });
      store.requestProgress!();
    });
    expect(progressed).toBe(kv.modRevision);
    const withoutProgress: Storage = { ...bind(inner), requestProgress: undefined };
    expect(withEncryption(withoutProgress, cfg, byRegistry).requestProgress).toBeUndefined();
  });

  it('refuses a value that is too large once encrypted', async () => {
    const { inner } = await openInner();
    const store = withEncryption(inner, secretsWith(aesgcm(['key1', key32a])), byRegistry);
    const err = await storageFailure(store.create('/registry/secrets/ns/big', Buffer.alloc(1.5 * 1024 * 1024 - 10)));
    expect(err.code).toBe('TooLarge');
    expect(err.message).toMatch(/once encrypted/);
    expect(await inner.get('/registry/secrets/ns/big')).toBeNull();
  });
});

describe('registry keys and rule matching', () => {
  it('maps registry keys to resources', () => {
    expect(byRegistry('/registry/secrets/default/x')).toBe('secrets');
    expect(byRegistry('/registry/namespaces/default')).toBe('namespaces');
    expect(byRegistry('/registry/vitistack.io/kubernetesclusters/ns/c')).toBe('kubernetesclusters.vitistack.io');
    expect(byRegistry('/registry/metal.sidero.dev/servers/s')).toBe('servers.metal.sidero.dev');
    expect(byRegistry('/other/secrets/x')).toBeUndefined();
    expect(byRegistry('/registry/vitistack.io')).toBeUndefined();
    expect(resourceOfKey('/custom/')('/custom/secrets/a/b')).toBe('secrets');
  });

  it('matches the exact resource, then *.<group>, then *.*', () => {
    const cfg = config(
      { resources: ['secrets', 'machines.vitistack.io'], providers: [aesgcm(['a', key32a])] },
      { resources: ['*.vitistack.io'], providers: [aesgcm(['b', key32a])] },
      { resources: ['*.'], providers: [aesgcm(['c', key32a])] },
      { resources: ['*.*'], providers: [identity] },
    );
    const first = (r: string) => {
      const p = providersForResource(cfg, r)?.[0];
      return p?.kind === 'aesgcm' ? p.keys[0]!.name : p?.kind;
    };
    expect(first('secrets')).toBe('a');
    expect(first('machines.vitistack.io')).toBe('a');
    expect(first('kubernetesclusters.vitistack.io')).toBe('b');
    expect(first('configmaps')).toBe('c');
    expect(first('servers.metal.sidero.dev')).toBe('identity');
    expect(
      providersForResource(config({ resources: ['secrets'], providers: [identity] }), 'configmaps'),
    ).toBeUndefined();
  });

  it('parses YAML', () => {
    const cfg = parseEncryptionConfig(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets, kubernetesclusters.vitistack.io]
    providers:
      - aesgcm:
          keys:
            - name: key2
              secret: ${key32b}
            - name: key1
              secret: ${key16}
      - identity: {}
`);
    expect(cfg.rules).toHaveLength(1);
    expect(cfg.rules[0]!.resources).toEqual(['secrets', 'kubernetesclusters.vitistack.io']);
    expect(cfg.rules[0]!.providers).toEqual([
      {
        kind: 'aesgcm',
        keys: [
          { name: 'key2', secret: Buffer.from(key32b, 'base64') },
          { name: 'key1', secret: Buffer.from(key16, 'base64') },
        ],
      },
      { kind: 'identity' },
    ]);
  });
});

describe('EncryptionConfiguration validation', () => {
  const doc = (rules: unknown, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'EncryptionConfiguration',
      resources: rules,
      ...extra,
    });
  const one = (providers: unknown, resources: unknown = ['secrets']) => doc([{ resources, providers }]);

  it('refuses bad key material without ever printing it', () => {
    const notBase64 = 'not base64!!';
    const short = Buffer.from('only-ten-b').toString('base64');
    const err = configFailure(one([aesgcm(['a', notBase64], ['b', short], ['c', ''])]));
    expect(err.message).toMatch(/^invalid EncryptionConfiguration "test-config.yaml": \[/);
    expect(err.causes.map((c) => c.field)).toEqual(
      [0, 1, 2].map((i) => `resources[0].providers[0].aesgcm.keys[${i}].secret`),
    );
    expect(err.message).toContain(
      'resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: "REDACTED": secrets must be base64 encoded',
    );
    expect(err.message).toContain(
      'resources[0].providers[0].aesgcm.keys[1].secret: Invalid value: "REDACTED": secret is not of the expected length, got 10, expected one of [16 24 32]',
    );
    expect(err.message).toContain('resources[0].providers[0].aesgcm.keys[2].secret: Required value');
    expect(err.message).not.toContain(notBase64);
    expect(err.message).not.toContain(short);
  });

  it('refuses duplicate and malformed key names, and aesgcm without keys', () => {
    expect(configFailure(one([aesgcm(['k', key32a]), aesgcm(['k', key32b])])).message).toContain(
      'resources[0].providers[1].aesgcm.keys[0].name: Duplicate value: "k"',
    );
    expect(configFailure(one([aesgcm(['k', key32a], ['k', key32b])])).message).toContain(
      'keys[1].name: Duplicate value: "k"',
    );
    expect(configFailure(one([aesgcm(['a:b', key32a])])).message).toContain("must not contain ':'");
    expect(configFailure(one([aesgcm(['', key32a])])).message).toContain('keys[0].name: Required value');
    expect(configFailure(one([{ aesgcm: { keys: [] } }])).message).toContain(
      'resources[0].providers[0].aesgcm.keys: Required value',
    );
  });

  it('refuses providers other than aesgcm and identity, clearly', () => {
    for (const p of ['kms', 'aescbc', 'secretbox']) {
      const err = configFailure(one([{ [p]: { keys: [{ name: 'k', secret: key32a }] } }]));
      expect(err.message).toContain(
        `resources[0].providers[0].${p}: Unsupported value: "${p}": only the aesgcm and identity providers are supported`,
      );
      expect(err.message).not.toContain(key32a);
    }
    expect(configFailure(one([{ aesgmc: {} }])).message).toContain(
      '"aesgmc": unknown provider; only the aesgcm and identity providers are supported',
    );
    expect(configFailure(one([{}])).message).toContain('provider does not contain any of the expected providers');
    expect(configFailure(one([{ identity: {}, aesgcm: { keys: [{ name: 'k', secret: key32a }] } }])).message).toContain(
      'more than one provider specified in a single element',
    );
    expect(configFailure(one([])).message).toContain('resources[0].providers: Required value');
  });

  it('refuses a resource listed twice, masked, or written in a form kube-apiserver refuses', () => {
    const p = [identity];
    const cases: [unknown, string][] = [
      [[{ resources: ['secrets', 'secrets.'], providers: p }], 'each resource name must be unique'],
      [
        [
          { resources: ['secrets'], providers: p },
          { resources: ['secrets'], providers: p },
        ],
        'resource "secrets" is already listed in resources[0].resources',
      ],
      [
        [
          { resources: ['*.'], providers: p },
          { resources: ['secrets'], providers: p },
        ],
        'resource "secrets" is masked by earlier rule "*."',
      ],
      [
        [
          { resources: ['*.*'], providers: p },
          { resources: ['machines.vitistack.io'], providers: p },
        ],
        'is masked by earlier rule "*.*"',
      ],
      [
        [
          { resources: ['*.vitistack.io'], providers: p },
          { resources: ['machines.vitistack.io'], providers: p },
        ],
        'masked by earlier rule "*.vitistack.io"',
      ],
      [[{ resources: ['secrets', '*.'], providers: p }], 'overlapping resources'],
      [[{ resources: ['machines.vitistack.io', '*.vitistack.io'], providers: p }], 'overlapping resources'],
      [[{ resources: ['*.', '*.*'], providers: p }], 'overlapping resources'],
      [[{ resources: ['*'], providers: p }], "use '*.' to encrypt all the resources from core API group"],
      [[{ resources: ['machines.*'], providers: p }], 'encrypting the same resource across groups is not supported'],
      [[{ resources: ['Secrets'], providers: p }], 'upper case'],
      [[{ resources: [], providers: p }], 'resources[0].resources: Required value'],
      [[], 'resources: Required value'],
    ];
    for (const [rules, message] of cases) expect(configFailure(doc(rules)).message).toContain(message);
    // a specific resource before a wildcard, and wildcards of different groups, are fine
    expect(() => config({ resources: ['secrets'], providers: p }, { resources: ['*.'], providers: p })).not.toThrow();
    expect(() =>
      config({ resources: ['machines.vitistack.io', '*.', '*.metal.sidero.dev'], providers: p }),
    ).not.toThrow();
  });

  it('refuses the wrong apiVersion or kind, and text that is not YAML, without echoing it', () => {
    expect(
      configFailure(doc([{ resources: ['secrets'], providers: [identity] }], { apiVersion: 'v1' })).message,
    ).toContain('apiVersion: Unsupported value: "v1": supported values: "apiserver.config.k8s.io/v1"');
    expect(
      configFailure(doc([{ resources: ['secrets'], providers: [identity] }], { kind: 'Config' })).message,
    ).toContain('kind: Unsupported value: "Config"');
    const err = configFailure(`resources:\n  - providers:\n      - aesgcm: {keys: [{name: k, secret: "${key32a}"]}\n`);
    expect(err.message).toMatch(/not valid YAML or JSON at line \d+/);
    expect(err.message).not.toContain(key32a);
  });
});

describe('ensureDefaultEncryptionConfig', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('creates one private key file on first use and reuses it afterwards', async () => {
    const dataDir = join(await tempDir(dirs), 'data');
    const path = await ensureDefaultEncryptionConfig(dataDir);
    expect(path).toBe(join(dataDir, 'encryption-config.yaml'));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const text = await readFile(path, 'utf8');

    const cfg = await loadEncryptionConfig(path);
    const providers = providersForResource(cfg, 'secrets')!;
    expect(providers.map((p) => p.kind)).toEqual(['aesgcm', 'identity']);
    expect(providers[0]!.kind === 'aesgcm' && providers[0]!.keys[0]!.secret.length).toBe(32);
    expect(providersForResource(cfg, 'configmaps')).toBeUndefined();

    expect(await ensureDefaultEncryptionConfig(dataDir)).toBe(path);
    expect(await readFile(path, 'utf8')).toBe(text);
    const again = await Promise.all([ensureDefaultEncryptionConfig(dataDir), ensureDefaultEncryptionConfig(dataDir)]);
    expect(again).toEqual([path, path]);
    expect(await readFile(path, 'utf8')).toBe(text);
    expect(await readdir(dataDir)).toEqual(['encryption-config.yaml']); // no temporary files left

    const other = await ensureDefaultEncryptionConfig(join(await tempDir(dirs), 'data'));
    expect(await readFile(other, 'utf8')).not.toBe(text); // a fresh random key per data directory
  });

  it('races of first starts agree on one key', async () => {
    const dataDir = await tempDir(dirs);
    const paths = await Promise.all(Array.from({ length: 5 }, () => ensureDefaultEncryptionConfig(dataDir)));
    expect(new Set(paths).size).toBe(1);
    expect(await readdir(dataDir)).toEqual(['encryption-config.yaml']);
  });

  it('reports a missing config file with its path', async () => {
    const missing = join(await tempDir(dirs), 'nope.yaml');
    await expect(loadEncryptionConfig(missing)).rejects.toThrow(
      `error reading encryption provider configuration file "${missing}"`,
    );
  });
});
