// The live subresources of KubernetesCluster: the whole cluster's health and its admin kubeconfig,
// asked of the cluster's nodes at request time. Declarations only: src/nodeaccess asks the nodes,
// src/subresources serves them. The kinds they answer with are AdoptedServer's (live.ts).
import type { CustomSubresource } from '../machinery/discovery.js';
import type { JSONSchema } from '../machinery/kind.js';
import { HealthReportSchema } from './live.js';

export const kubernetesClusterSubresources: CustomSubresource[] = [
  {
    resource: 'kubernetesclusters',
    name: 'health',
    kind: 'HealthReport',
    verbs: ['get'],
    schema: HealthReportSchema as { description?: string } as JSONSchema,
    description:
      "asks the cluster's nodes now: each node's services, etcd membership and quorum, versions, and a control plane's cluster health check",
  },
  {
    resource: 'kubernetesclusters',
    name: 'kubeconfig',
    kind: 'Kubeconfig',
    verbs: ['get'],
    secretMaterial: true,
    schema: {
      type: 'string',
      description: "The cluster's admin kubeconfig, as YAML (application/yaml), fetched from a control plane now.",
    },
    description: 'streams the admin kubeconfig from a control plane of the cluster as application/yaml',
  },
];
