// apiServer authorization, control-plane component resources, the CNI and the apiServer's
// certificate SANs.
import type { RuleContext } from './context.js';
import { joinIndex, joinKey, show } from './problem.js';
import { isQuantity, isSAN, parseURL, showURL } from './syntax.js';
import { isNonEmpty, mapAt, strAt, stringItems } from './values.js';

const COMPONENTS_WITH_RESOURCES = ['apiServer', 'controllerManager', 'scheduler'];

/** authorizationConfig replaces the authorization flags; it cannot be combined with them. */
export function checkAPIServerAuthorization(ctx: RuleContext): void {
  const apiServer = mapAt(ctx.cluster, 'apiServer');
  if (!isNonEmpty(apiServer, 'authorizationConfig')) return;
  for (const flag of Object.keys(mapAt(apiServer, 'extraArgs') ?? {})) {
    if (flag === 'authorization-mode' || flag.startsWith('authorization-webhook-')) {
      ctx.v1.error(
        joinKey('cluster.apiServer.extraArgs', flag),
        `cannot be combined with cluster.apiServer.authorizationConfig`,
      );
    }
  }
}

/** Component resources: requests and limits are Kubernetes quantities. */
export function checkComponentResources(ctx: RuleContext): void {
  for (const component of COMPONENTS_WITH_RESOURCES) {
    const resources = mapAt(mapAt(ctx.cluster, component), 'resources');
    for (const section of ['requests', 'limits']) {
      const values = mapAt(resources, section);
      for (const [name, quantity] of Object.entries(values ?? {})) {
        if (quantity !== null && !isQuantity(quantity)) {
          ctx.v1.error(
            joinKey(`cluster.${component}.resources.${section}`, name),
            'is not a valid Kubernetes quantity (e.g. 500m, 1Gi)',
          );
        }
      }
    }
  }
}

export function checkAPIServerCertSANs(ctx: RuleContext): void {
  for (const [i, san] of stringItems(mapAt(ctx.cluster, 'apiServer'), 'certSANs')) {
    if (!isSAN(san))
      ctx.v1.error(joinIndex('cluster.apiServer.certSANs', i), `${show(san)} is neither an IP address nor a DNS name`);
  }
}

const CNI_NAMES = ['flannel', 'custom', 'none'];

/**
 * The CNI (flannel, custom or none, with URLs only for custom), checked for control planes: they
 * deploy it.
 */
export function checkCNI(ctx: RuleContext): void {
  if (!ctx.isControlPlane) return;
  const cni = mapAt(mapAt(ctx.cluster, 'network'), 'cni');
  if (!cni) return;
  const name = strAt(cni, 'name') ?? '';
  const path = 'cluster.network.cni';
  if (name === '') {
    ctx.v1.error(`${path}.name`, 'required: must be flannel, custom or none');
    return;
  }
  // a name Talos does not know is the schema check's to report (schema-v1alpha1-cluster.ts), for every role
  if (!CNI_NAMES.includes(name)) return;
  const hasURLs = isNonEmpty(cni, 'urls');
  if ((name === 'flannel' || name === 'none') && hasURLs)
    ctx.v1.error(`${path}.urls`, `must be empty for CNI ${show(name)}: only a custom CNI is deployed from URLs`);
  if (name === 'custom' && !hasURLs)
    ctx.v1.warning(`${path}.urls`, 'custom CNI without URLs: no CNI is deployed by Talos, install one yourself');
  const flannel = mapAt(cni, 'flannel');
  if (name !== 'flannel' && flannel) {
    if (isNonEmpty(flannel, 'extraArgs'))
      ctx.v1.error(`${path}.flannel.extraArgs`, `flannel settings do not apply to CNI ${show(name)}`);
    if (isNonEmpty(flannel, 'kubeNetworkPoliciesEnabled'))
      ctx.v1.error(`${path}.flannel.kubeNetworkPoliciesEnabled`, `flannel settings do not apply to CNI ${show(name)}`);
  }
  for (const [i, url] of stringItems(cni, 'urls')) {
    const parsed = parseURL(url);
    if ('error' in parsed) ctx.v1.error(joinIndex(`${path}.urls`, i), `${show(showURL(url))} ${parsed.error}`);
  }
}
