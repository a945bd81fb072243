// machines/{name}/machineconfig and kubernetesclusters/{name}/talosconfig: the generated material,
// read from the Secrets the admission wrote (never from spec or status).
import { configSubresources } from '../api/configsubresources.js';
import { kubernetesClusterKind, machineKind } from '../api/index.js';
import { notFoundWithMessage } from '../machinery/errors.js';
import type { SubresourceHandler } from '../machinery/registry/subresource.js';
import {
  MACHINECONFIG_KEY,
  TALOSCONFIG_KEY,
  machineconfigSecretName,
  talosconfigSecretName,
} from '../secrets/clustersecrets.js';
import type { SecretStore } from '../secrets/secretstore.js';

const declaration = (name: string) => configSubresources.find((s) => s.name === name)!;

export function configHandlers(secrets: SecretStore): SubresourceHandler[] {
  const serve =
    (secretName: (n: string) => string, key: string, what: string): SubresourceHandler['serve'] =>
    async ({ parent }) => {
      const name = secretName(parent.metadata.name!);
      const text = (await secrets.get(parent.metadata.namespace!, name))?.[key];
      if (!text) {
        throw notFoundWithMessage(
          `${what} of ${parent.kind} ${parent.metadata.name} has not been generated (secret "${name}" has no ${key})`,
          { name, kind: 'secrets' },
        );
      }
      return { type: 'text', code: 200, contentType: 'application/yaml', text };
    };
  return [
    {
      group: machineKind.group,
      declaration: declaration('machineconfig'),
      serve: serve(machineconfigSecretName, MACHINECONFIG_KEY, 'the machine config'),
    },
    {
      group: kubernetesClusterKind.group,
      declaration: declaration('talosconfig'),
      serve: serve(talosconfigSecretName, TALOSCONFIG_KEY, 'the talosconfig'),
    },
  ];
}
