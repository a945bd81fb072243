// The vitistack kinds' secret-material subresources: each returns generated Talos material from
// its Secret, and needs its own RBAC permission (admin only in the shipped roles).
import type { CustomSubresource } from '../machinery/discovery.js';

export const configSubresources: CustomSubresource[] = [
  {
    resource: 'machines',
    name: 'machineconfig',
    kind: 'MachineConfig',
    verbs: ['get'],
    secretMaterial: true,
    schema: {
      type: 'string',
      description: 'The generated Talos machine config of the machine, as YAML (application/yaml).',
    },
    description: 'the generated Talos machine config (secret material) as application/yaml',
  },
  {
    resource: 'kubernetesclusters',
    name: 'talosconfig',
    kind: 'Talosconfig',
    verbs: ['get'],
    secretMaterial: true,
    schema: {
      type: 'string',
      description: 'A talosconfig for the cluster (client certificate with role os:admin), as YAML.',
    },
    description: "the cluster's talosconfig (secret material) as application/yaml",
  },
];
