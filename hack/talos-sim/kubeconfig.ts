// The admin kubeconfig a control-plane node generates for the Kubeconfig RPC:
// a client cert from the Kubernetes CA, CN=admin O=system:masters, valid from 10 s ago for a year;
// cluster, user and context named after the cluster, namespace default.
import { createPrivateKey } from 'node:crypto';
import { stringify } from 'yaml';
import { issue, CLIENT_CERT_LIFETIME_MS, type Issuer } from './pki.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

export async function adminKubeconfig(k8sCA: Issuer, clusterName: string, server: string): Promise<string> {
  const admin = await issue(k8sCA, {
    subject: 'CN=admin, O=system:masters',
    eku: ['clientAuth'],
    keyEncipherment: true,
    backdateMs: 10_000,
    lifetimeMs: CLIENT_CERT_LIFETIME_MS,
  });
  // Talos writes ECDSA keys as SEC1 `EC PRIVATE KEY`
  const keyPem =
    k8sCA.kind === 'ecdsa'
      ? createPrivateKey(admin.keyPem).export({ type: 'sec1', format: 'pem' }).toString()
      : admin.keyPem;
  const user = `admin@${clusterName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: { server, 'certificate-authority-data': b64(k8sCA.certPem) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(admin.certPem), 'client-key-data': b64(keyPem) } }],
    contexts: [{ context: { cluster: clusterName, namespace: 'default', user }, name: user }],
    'current-context': user,
  });
}
