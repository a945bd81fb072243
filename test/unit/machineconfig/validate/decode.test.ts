// Strict decoding and garbage input: every input yields problems, never an exception.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_CONFIG_BYTES } from '../../../../src/machineconfig/validate/decode.js';
import { validateMachineConfig, type ConfigProblem } from '../../../../src/machineconfig/validate/index.js';
import {
  buildDocuments,
  expectNoProblems,
  expectProblem,
  makeSecrets,
  toYaml,
  type FixtureSecrets,
} from './fixtures.js';

const v113 = { talosVersion: 'v1.13.9' };
const run = (text: string, opts = v113): ConfigProblem[] => validateMachineConfig(text, opts);

let s: FixtureSecrets;
beforeAll(async () => {
  s = await makeSecrets();
});

describe('garbage input', () => {
  it('text that is not YAML gives syntax errors with their line', () => {
    const problems = run('version: v1alpha1\nmachine:\n  type: [worker\n');
    expect(problems.length).toBeGreaterThan(0);
    expect(
      problems.every((p) => p.severity === 'error' && p.path === '(config)' && p.message.startsWith('YAML syntax:')),
    ).toBe(true);
    expect(problems[0]?.line).toBeGreaterThanOrEqual(3);
  });

  it('random bytes give problems, not an exception', () => {
    for (let i = 0; i < 20; i++) {
      const problems = run(randomBytes(512).toString('latin1'));
      expect(problems.length).toBeGreaterThan(0);
    }
  });

  it('a document that is not a mapping is reported at the document', () => {
    expectProblem(run('42\n'), 'documents[0]', 'must be a mapping');
    expectProblem(run('- a\n- b\n'), 'documents[0]', 'must be a mapping');
  });

  it('an empty stream is reported', () => {
    expectProblem(run(''), '(config)', 'config is empty');
    expectProblem(run('# nothing\n---\n'), '(config)', 'config is empty');
  });

  it('a stream without a v1alpha1 document is reported', () => {
    expectProblem(
      run('apiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n'),
      '(config)',
      'no v1alpha1 document',
    );
  });

  it('an alias bomb (billion laughs) is refused, not expanded', () => {
    let bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n';
    for (let i = 0; i < 9; i++)
      bomb += `b${i}: &b${i} [${Array(9)
        .fill(i === 0 ? '*a' : `*b${i - 1}`)
        .join(',')}]\n`;
    const started = Date.now();
    const refused = run(bomb).filter((p) => p.message.includes('expands to more than'));
    expect(refused).toHaveLength(1);
    // the path is where the node budget ran out: deep inside the first alias level that exceeds it
    expect(refused[0]?.path).toMatch(/^documents\[0\]\.b\d(\[\d\])+$/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a recursive alias is refused', () => {
    expectProblem(
      run('version: v1alpha1\nmachine: &m {type: worker, x: *m}\ncluster: {}\n'),
      'machine.x',
      'recursive alias',
    );
  });

  it('flow collections nested 200 000 deep are refused before parsing (the YAML lexer would run out of memory)', () => {
    expectProblem(run('['.repeat(200_000) + ']'.repeat(200_000)), '(config)', 'deeper than');
  });

  it('a config larger than the limit is refused', () => {
    expectProblem(run(`a: "${'x'.repeat(MAX_CONFIG_BYTES)}"\n`), '(config)', 'larger than');
  });

  it('a mapping key that is a collection is reported', () => {
    expectProblem(run('version: v1alpha1\n? [a, b]\n: 1\n'), '(config)', 'a mapping key must be a scalar');
  });

  it('input that is not a string, and bad options, give problems', () => {
    expectProblem(validateMachineConfig(undefined as unknown as string, v113), '(config)', 'must be YAML text');
    expectProblem(run('a: 1\n', { talosVersion: 'banana' }), 'talosVersion', 'not a Talos version');
    expectProblem(run('a: 1\n', { talosVersion: 'v1.7.0' }), 'talosVersion', 'not supported');
    expectProblem(
      validateMachineConfig('a: 1\n', { talosVersion: 'v1.13', mode: 'cloud' as 'metal' }),
      'mode',
      'must be metal or container',
    );
  });
});

describe('strict decoding', () => {
  it('a duplicate key is an error at its path and the line of the second occurrence', () => {
    const yaml = toYaml(buildDocuments(s, '1.13', 'worker')).replace(
      '  install:\n',
      '  install:\n    disk: /dev/sdb\n',
    );
    const p = expectProblem(run(yaml), 'machine.install.disk', 'duplicate key "disk"');
    const lines = yaml.split('\n');
    const second = lines.findIndex((l, i) => l.includes('disk:') && i > lines.findIndex((x) => x.includes('disk:')));
    expect(p.line).toBe(second + 1);
  });

  it('unknown keys are errors at their path with their line, in every section', () => {
    const docs = buildDocuments(s, '1.13', 'controlplane');
    docs[0].machine.kubelet.imagePullPolicy = 'Always';
    docs[0].cluster.etcd.peerPort = 2380;
    docs[0].cluster.network.cni = { name: 'flannel', version: 2 };
    docs[0].extra = true;
    const yaml = toYaml(docs);
    const problems = run(yaml);
    const p = expectProblem(problems, 'machine.kubelet.imagePullPolicy', 'unknown key "imagePullPolicy"');
    expect(p.line).toBe(yaml.split('\n').findIndex((l) => l.includes('imagePullPolicy')) + 1);
    expectProblem(problems, 'cluster.etcd.peerPort', 'unknown key');
    expectProblem(problems, 'cluster.network.cni.version', 'unknown key');
    expectProblem(problems, 'extra', 'unknown key');
  });

  it('two v1alpha1 documents are an error', () => {
    const docs = buildDocuments(s, '1.11', 'worker');
    const problems = run(toYaml([docs[0], docs[0]]), { talosVersion: 'v1.11' });
    expectProblem(problems, 'documents[1] (v1alpha1)', 'a second v1alpha1 document');
  });

  it('duplicate documents (same apiVersion, kind and name) are an error', () => {
    const docs = buildDocuments(s, '1.12', 'worker');
    const mirror = (name: string) => ({
      apiVersion: 'v1alpha1',
      kind: 'RegistryMirrorConfig',
      name,
      endpoints: [{ url: 'https://mirror.example.com' }],
    });
    const problems = run(toYaml([...docs, docs[1], mirror('docker.io'), mirror('ghcr.io'), mirror('docker.io')]), {
      talosVersion: 'v1.12',
    });
    expectProblem(problems, 'documents[2] (HostnameConfig)', 'duplicate document: documents[1]');
    expectProblem(
      problems,
      'documents[5] (RegistryMirrorConfig)',
      'duplicate document: documents[3] has the same apiVersion, kind and name',
    );
    expect(problems.filter((p) => p.path === 'documents[4] (RegistryMirrorConfig)')).toEqual([]);
  });

  it('a document declaring both the v1alpha1 version and a kind conflicts', () => {
    const docs = buildDocuments(s, '1.12', 'worker');
    docs[1].version = 'v1alpha1';
    expectProblem(run(toYaml(docs), { talosVersion: 'v1.12' }), 'documents[1]', 'kinds it declares conflict');
  });

  it('a document with neither version nor kind is an error', () => {
    const docs = buildDocuments(s, '1.11', 'worker');
    expectProblem(
      run(toYaml([...docs, { auto: 'stable' }]), { talosVersion: 'v1.11' }),
      'documents[1]',
      'neither `version: v1alpha1`',
    );
  });

  it('a typed document with another apiVersion is an error', () => {
    const docs = buildDocuments(s, '1.12', 'worker');
    docs[1].apiVersion = 'v1beta1';
    expectProblem(
      run(toYaml(docs), { talosVersion: 'v1.12' }),
      'documents[1] (HostnameConfig).apiVersion',
      'unknown apiVersion "v1beta1"',
    );
  });

  it('a kind Talos does not know is an error, and so is a kind newer than the target', () => {
    const docs = buildDocuments(s, '1.12', 'worker');
    const problems = run(
      toYaml([
        ...docs,
        { apiVersion: 'v1alpha1', kind: 'SideroLinkConfig', apiUrl: 'https://siderolink.example.com' },
        { apiVersion: 'v1alpha1', kind: 'KubeSpanConfig' },
        { apiVersion: 'v1alpha1', kind: 'NoSuchConfig' },
      ]),
      { talosVersion: 'v1.12' },
    );
    expect(problems.filter((p) => p.path.startsWith('documents[2]'))).toEqual([]);
    expectProblem(problems, 'documents[3] (KubeSpanConfig)', 'added in Talos v1.13');
    expectProblem(
      problems,
      'documents[4] (NoSuchConfig)',
      'unknown document kind "NoSuchConfig": Talos v1.12 does not know it',
    );
  });

  it('for a target newer than the newest schema known here, an unknown kind or key is a warning', () => {
    const docs = buildDocuments(s, '1.14', 'worker');
    const problems = run(toYaml([...docs, { apiVersion: 'v1alpha1', kind: 'FutureConfig' }]), {
      talosVersion: 'v1.15.0',
    });
    expectProblem(problems, `documents[${docs.length}] (FutureConfig)`, 'not a kind of Talos v1.14', 'warning');
    const key = run(toYaml(docs.map((d) => (d.kind === 'HostnameConfig' ? { ...d, futureField: true } : d))), {
      talosVersion: 'v1.15.0',
    });
    const hostname = docs.findIndex((d) => d.kind === 'HostnameConfig');
    expectProblem(
      key,
      `documents[${hostname}] (HostnameConfig).futureField`,
      'not in the schema of Talos v1.14',
      'warning',
    );
  });

  it("merge keys (<<) are applied as Go's decoder applies them, explicit keys winning", () => {
    const yaml = toYaml(buildDocuments(s, '1.13', 'worker')).replace(
      '  install:\n',
      '  nodeLabels: &labels\n    zone: a\n  nodeAnnotations:\n    <<: *labels\n    zone: b\n  install:\n',
    );
    expectNoProblems(run(yaml));
  });

  it('YAML warnings (an unresolved tag) are reported as warnings at their line', () => {
    const yaml = toYaml(buildDocuments(s, '1.13', 'worker'))
      .replace('  install:\n', '  install:\n    image: !custom ghcr.io/siderolabs/installer:v1.13.9\n')
      .replace(/\n    image: ghcr.io\/siderolabs\/installer:v1.13.9/, '');
    const p = expectProblem(run(yaml), '(config)', 'Unresolved tag: !custom', 'warning');
    expect(p.line).toBe(yaml.split('\n').findIndex((l) => l.includes('!custom')) + 1);
  });

  it('a long garbage value is cut in the message', () => {
    const docs = buildDocuments(s, '1.13', 'worker');
    docs[0].cluster.network.dnsDomain = `-${'x'.repeat(10_000)}`;
    const p = expectProblem(run(toYaml(docs)), 'cluster.network.dnsDomain', 'is not a valid DNS name');
    expect(p.message.length).toBeLessThan(200);
  });

  it('empty documents between documents are skipped', () => {
    const docs = buildDocuments(s, '1.12', 'worker');
    expectNoProblems(run(`---\n${toYaml([docs[0]])}---\n---\n${toYaml([docs[1]])}`, { talosVersion: 'v1.12' }));
  });
});
