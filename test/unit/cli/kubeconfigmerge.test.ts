import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { mergeKubeconfig } from '../../../src/cli/kubeconfigmerge.js';

const config = (name: string, server: string, user = 'admin@' + name) =>
  stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority-data': 'Q0E=' } }],
    users: [{ name: user, user: { 'client-certificate-data': 'Y2VydA==', 'client-key-data': 'a2V5' } }],
    contexts: [{ name: user, context: { cluster: name, user, namespace: 'default' } }],
    'current-context': user,
  });

describe('merging a kubeconfig into an existing one', () => {
  it('adds clusters, users and contexts and makes the new context current', () => {
    const r = mergeKubeconfig(config('home', 'https://10.0.0.1:6443'), config('prod', 'https://10.0.0.2:6443'));
    const doc = parse(r.text);
    expect(doc.clusters.map((c: { name: string }) => c.name)).toEqual(['home', 'prod']);
    expect(doc.users.map((c: { name: string }) => c.name)).toEqual(['admin@home', 'admin@prod']);
    expect(doc.contexts.map((c: { name: string }) => c.name)).toEqual(['admin@home', 'admin@prod']);
    expect(doc['current-context']).toBe('admin@prod');
    expect(r).toMatchObject({ context: 'admin@prod', renamed: [] });
  });

  it('renames entries whose names are taken by different ones, and the context follows them', () => {
    const first = mergeKubeconfig(config('prod', 'https://10.0.0.1:6443'), config('prod', 'https://10.0.0.9:6443'));
    expect(first.renamed).toEqual(['cluster "prod" as "prod-1"', 'context "admin@prod" as "admin@prod-1"']);
    const doc = parse(first.text);
    expect(doc.clusters).toHaveLength(2);
    expect(doc.clusters[1]).toMatchObject({ name: 'prod-1', cluster: { server: 'https://10.0.0.9:6443' } });
    // the user is the same one: reused, not copied
    expect(doc.users).toHaveLength(1);
    expect(doc.contexts[1]).toEqual({
      name: 'admin@prod-1',
      context: { cluster: 'prod-1', user: 'admin@prod', namespace: 'default' },
    });
    expect(doc['current-context']).toBe('admin@prod-1');
    // a third, different again: -2
    const second = mergeKubeconfig(first.text, config('prod', 'https://10.0.0.10:6443'));
    expect(parse(second.text).clusters.map((c: { name: string }) => c.name)).toEqual(['prod', 'prod-1', 'prod-2']);
  });

  it('merging the same kubeconfig again changes nothing but the current context', () => {
    const once = mergeKubeconfig(config('home', 'https://10.0.0.1:6443'), config('prod', 'https://10.0.0.2:6443'));
    const twice = mergeKubeconfig(once.text, config('prod', 'https://10.0.0.2:6443'));
    expect(twice.renamed).toEqual([]);
    expect(parse(twice.text)).toEqual(parse(once.text));
  });

  it('keeps what else the file holds, and takes an empty file', () => {
    const existing = parse(config('home', 'https://10.0.0.1:6443'));
    existing.preferences = { colors: true };
    const r = mergeKubeconfig(stringify(existing), config('prod', 'https://10.0.0.2:6443'));
    expect(parse(r.text).preferences).toEqual({ colors: true });
    expect(parse(mergeKubeconfig('', config('prod', 'https://10.0.0.2:6443')).text).clusters).toHaveLength(1);
  });

  it('refuses a file that is not a kubeconfig, saying why', () => {
    expect(() => mergeKubeconfig('a: [', config('p', 'https://x:1'))).toThrow(/the existing file is not YAML/);
    expect(() => mergeKubeconfig('kind: Pod\n', config('p', 'https://x:1'))).toThrow(
      'the existing file is not a kubeconfig (kind: Config)',
    );
    expect(() => mergeKubeconfig('kind: Config\nclusters: 3\n', config('p', 'https://x:1'))).toThrow(
      'clusters is not a list of named entries',
    );
  });
});
