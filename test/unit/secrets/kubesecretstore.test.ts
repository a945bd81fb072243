// The cluster-mode SecretStore speaks kube-apiserver's REST: create-only is a POST whose 409 means
// "someone was first", put falls back to a merge patch, delete treats 404 as done.
import { describe, expect, it } from 'vitest';
import type { KubeAPI, KubeReply } from '../../../src/kubeapi/client.js';
import { kubeSecretStore } from '../../../src/secrets/secretstore.js';

function fakeAPI(replies: Record<string, number>): { api: KubeAPI; calls: string[] } {
  const calls: string[] = [];
  const api = {
    async call(method: string, path: string, opts: { contentType?: string } = {}): Promise<KubeReply> {
      calls.push(`${method} ${path}${opts.contentType ? ` ${opts.contentType}` : ''}`);
      const code = replies[`${method} ${path}`] ?? 500;
      return {
        code,
        contentType: 'application/json',
        body: JSON.stringify({
          kind: 'Status',
          reason: code === 500 ? 'InternalError' : 'x',
          message: `answered ${code}`,
        }),
      };
    },
  } as unknown as KubeAPI;
  return { api, calls };
}

const secret = { name: 's', labels: {}, ownerReferences: [], data: { k: 'v' } };
const col = '/api/v1/namespaces/ns/secrets';

describe('kubeSecretStore', () => {
  it('create resolves whether it created; put patches what exists', async () => {
    const { api, calls } = fakeAPI({ [`POST ${col}`]: 409, [`PATCH ${col}/s`]: 200 });
    const store = kubeSecretStore(api);
    expect(await store.create('ns', secret)).toBe(false);
    await store.put('ns', secret);
    expect(calls).toEqual([`POST ${col}`, `POST ${col}`, `PATCH ${col}/s application/merge-patch+json`]);
    expect(await kubeSecretStore(fakeAPI({ [`POST ${col}`]: 201 }).api).create('ns', secret)).toBe(true);
  });

  it('delete takes 404 as done and reports any other failure', async () => {
    await kubeSecretStore(fakeAPI({ [`DELETE ${col}/s`]: 404 }).api).delete('ns', 's');
    await kubeSecretStore(fakeAPI({ [`DELETE ${col}/s`]: 200 }).api).delete('ns', 's');
    await expect(kubeSecretStore(fakeAPI({}).api).delete('ns', 's')).rejects.toThrow(
      'deleting secret ns/s: answered 500',
    );
  });
});
