// The kubeconfig step: once the cluster is healthy, its admin kubeconfig is fetched from a
// control plane and kept in the Secret `<cluster>-kubeconfig` (key `value`, the Cluster API
// convention), owned by the cluster and encrypted at rest like its other Secrets. It is fetched
// once; a deleted Secret is fetched again.
import { CLUSTER_LABEL } from '../../machineconfig/fromcluster.js';
import { kubeconfigSecretName, KUBECONFIG_KEY, SECRET_ROLE_LABEL } from '../../secrets/clustersecrets.js';
import { using } from '../../nodeaccess/machinenode.js';
import { TalosError } from '../../talos/errors.js';
import { ownerRefOf } from '../kubernetescluster/plan.js';
import { controlPlanes, event, live, ordered, type Round } from './round.js';

export async function kubeconfigStep(r: Round, healthy: boolean): Promise<void> {
  const secret = kubeconfigSecretName(r.name);
  const stored = (await r.deps.secrets.get(r.namespace, secret))?.[KUBECONFIG_KEY];
  if (stored) {
    r.conditions.KubeconfigAvailable = {
      type: 'KubeconfigAvailable',
      status: 'True',
      reason: 'Persisted',
      message: `the admin kubeconfig is in Secret ${secret} (key ${KUBECONFIG_KEY})`,
    };
    return;
  }
  if (!healthy) {
    r.conditions.KubeconfigAvailable = {
      type: 'KubeconfigAvailable',
      status: 'False',
      severity: 'Info',
      reason: 'WaitingForHealth',
      message: 'the kubeconfig is fetched once the cluster is healthy',
    };
    return;
  }
  const errors: string[] = [];
  for (const v of ordered(controlPlanes(live(r)))) {
    if (v.sighting?.mode !== 'configured') continue;
    try {
      const text = (await using(r.deps.nodes.configured(v.endpoint!, r.creds), (c) => c.kubeconfig())).toString('utf8');
      await r.deps.secrets.put(r.namespace, {
        name: secret,
        labels: { [CLUSTER_LABEL]: r.name, [SECRET_ROLE_LABEL]: 'kubeconfig' },
        ownerReferences: [ownerRefOf(r.cluster)],
        data: { [KUBECONFIG_KEY]: text },
      });
      r.conditions.KubeconfigAvailable = {
        type: 'KubeconfigAvailable',
        status: 'True',
        reason: 'Persisted',
        message: `the admin kubeconfig is in Secret ${secret} (key ${KUBECONFIG_KEY})`,
      };
      await event(r, 'Normal', 'KubeconfigStored', `fetched the admin kubeconfig from ${v.name} into Secret ${secret}`);
      return;
    } catch (e) {
      if (!(e instanceof TalosError)) throw e;
      errors.push(`${v.name}: ${e.message}`);
    }
  }
  r.failed = true;
  const message = `no control plane gave the kubeconfig: ${errors.join('; ') || 'none is configured'}`;
  r.conditions.KubeconfigAvailable = {
    type: 'KubeconfigAvailable',
    status: 'False',
    severity: 'Warning',
    reason: 'RetrieveFailed',
    message,
  };
  await event(r, 'Warning', 'KubeconfigFailed', message);
}
