// The Secrets that hold a KubernetesCluster's Talos material: their names and data keys. Admission
// writes them, the KubernetesCluster controller follows them, the config subresources read them.
export const secretsSecretName = (cluster: string) => `${cluster}-talos-secrets`;
export const talosconfigSecretName = (cluster: string) => `${cluster}-talosconfig`;
export const machineconfigSecretName = (machine: string) => `${machine}-machineconfig`;
export const SECRETS_KEY = 'secrets.yaml';
export const TALOSCONFIG_KEY = 'talosconfig';
export const MACHINECONFIG_KEY = 'machineconfig.yaml';
/** which of a cluster's Secrets this is: `secrets` (the bundle), `talosconfig` or `machineconfig` */
export const SECRET_ROLE_LABEL = 'talos.vitistack.io/secret';
/** the cluster's admin kubeconfig, fetched from a control plane once it is healthy (Cluster API's name and key) */
export const kubeconfigSecretName = (cluster: string) => `${cluster}-kubeconfig`;
export const KUBECONFIG_KEY = 'value';
