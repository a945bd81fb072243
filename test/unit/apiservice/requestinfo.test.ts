import { describe, expect, it } from 'vitest';
import { requestInfo } from '../../../apiservice/requestinfo.js';

const q = (s = '') => new URLSearchParams(s);

describe('requestInfo (kube-apiserver RequestInfoFactory rules)', () => {
  it('derives verbs from method and target', () => {
    expect(requestInfo('GET', '/apis/metal.sidero.dev/v1alpha2/namespaces/ns1/adoptedservers', q()).verb).toBe('list');
    expect(
      requestInfo('GET', '/apis/metal.sidero.dev/v1alpha2/namespaces/ns1/adoptedservers', q('watch=true')).verb,
    ).toBe('watch');
    expect(
      requestInfo('GET', '/apis/metal.sidero.dev/v1alpha2/namespaces/ns1/adoptedservers', q('watch=false')).verb,
    ).toBe('list');
    expect(requestInfo('GET', '/apis/metal.sidero.dev/v1alpha2/watch/namespaces/ns1/adoptedservers', q()).verb).toBe(
      'watch',
    );
    expect(requestInfo('POST', '/apis/vitistack.io/v1alpha1/namespaces/a/kubernetesclusters', q()).verb).toBe('create');
    expect(requestInfo('PUT', '/apis/vitistack.io/v1alpha1/namespaces/a/kubernetesclusters/x', q()).verb).toBe(
      'update',
    );
    expect(requestInfo('PATCH', '/apis/vitistack.io/v1alpha1/namespaces/a/kubernetesclusters/x', q()).verb).toBe(
      'patch',
    );
    expect(requestInfo('DELETE', '/apis/vitistack.io/v1alpha1/namespaces/a/kubernetesclusters/x', q()).verb).toBe(
      'delete',
    );
    expect(requestInfo('DELETE', '/apis/vitistack.io/v1alpha1/namespaces/a/kubernetesclusters', q()).verb).toBe(
      'deletecollection',
    );
  });

  it('splits group, version, namespace, resource, name and subresource', () => {
    const i = requestInfo('PUT', '/apis/metal.sidero.dev/v1alpha2/namespaces/ns1/adoptedservers/as1/status', q());
    expect(i).toMatchObject({
      isResourceRequest: true,
      apiGroup: 'metal.sidero.dev',
      apiVersion: 'v1alpha2',
      namespace: 'ns1',
      resource: 'adoptedservers',
      name: 'as1',
      subresource: 'status',
      verb: 'update',
    });
    expect(requestInfo('GET', '/apis/metal.sidero.dev/v1alpha2/servers/s1', q())).toMatchObject({
      namespace: '',
      resource: 'servers',
      name: 's1',
      verb: 'get',
    });
  });

  it('treats /api/v1/namespaces/<name> as the namespace object and namespaces/<ns>/<resource> as namespaced', () => {
    expect(requestInfo('GET', '/api/v1/namespaces/team-a', q())).toMatchObject({
      resource: 'namespaces',
      name: 'team-a',
      namespace: '',
    });
    expect(requestInfo('GET', '/api/v1/namespaces/team-a/status', q())).toMatchObject({
      resource: 'namespaces',
      name: 'team-a',
      subresource: 'status',
    });
    expect(requestInfo('GET', '/api/v1/namespaces/team-a/secrets/s', q())).toMatchObject({
      resource: 'secrets',
      name: 's',
      namespace: 'team-a',
      apiGroup: '',
    });
    expect(requestInfo('GET', '/api/v1/namespaces', q())).toMatchObject({
      resource: 'namespaces',
      name: '',
      verb: 'list',
    });
  });

  it('leaves discovery and other paths as non-resource requests', () => {
    for (const p of [
      '/apis',
      '/apis/metal.sidero.dev',
      '/apis/metal.sidero.dev/v1alpha2',
      '/api',
      '/api/v1',
      '/openapi/v2',
      '/version',
    ]) {
      expect(requestInfo('GET', p, q()).isResourceRequest).toBe(false);
    }
  });
});
