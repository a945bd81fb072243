// The cluster section: its control-plane endpoint, network, etcd, manifests and discovery. The
// control-plane endpoint moves to KubeClusterConfig on 1.14+, so it is looked for there too.
import type { RuleContext } from './context.js';
import { joinIndex, show, type DocumentScope } from './problem.js';
import { cidrFamily, isDNSName, isSubnetFilter, parseURL, showURL, type IPFamily } from './syntax.js';
import { boolAt, isNonEmpty, isSet, mapAt, mapItems, numAt, strAt, stringItems } from './values.js';
import type { PlainMap } from './yamltree.js';

/** An https URL with a host, a valid port, IPv6 in brackets. */
function checkEndpoint(scope: DocumentScope, path: string, endpoint: string): void {
  const url = parseURL(endpoint);
  if ('error' in url) scope.error(path, `${show(showURL(endpoint))} ${url.error}`);
  else if (url.scheme !== 'https')
    scope.error(path, `must be an https:// URL (the Kubernetes API endpoint), not ${url.scheme}://`);
}

export function checkControlPlaneEndpoint(ctx: RuleContext): void {
  if (!ctx.cluster) return;
  const controlPlane = mapAt(ctx.cluster, 'controlPlane');
  const endpoint = strAt(controlPlane, 'endpoint');
  if (endpoint) checkEndpoint(ctx.v1, 'cluster.controlPlane.endpoint', endpoint);
  const fromDocuments = ctx.documentsOf('KubeClusterConfig').filter((d) => isSet(d.value, 'endpoint'));
  for (const d of fromDocuments) {
    const value = strAt(d.value, 'endpoint');
    if (value) checkEndpoint(d.scope, 'endpoint', value);
  }
  if (!endpoint && fromDocuments.length === 0) {
    const where = ctx.atLeast(1, 14) ? ' (or `endpoint` in a KubeClusterConfig document)' : '';
    ctx.v1.error('cluster.controlPlane.endpoint', `required: the Kubernetes API endpoint URL${where}`);
  }
  const port = numAt(controlPlane, 'localAPIServerPort');
  if (port !== undefined && (port < 1 || port > 65535))
    ctx.v1.error('cluster.controlPlane.localAPIServerPort', 'must be a port from 1 to 65535');
}

function checkSubnetList(ctx: RuleContext, network: PlainMap, key: string): IPFamily[] {
  const path = `cluster.network.${key}`;
  const families: IPFamily[] = [];
  for (const [i, cidr] of stringItems(network, key)) {
    const family = cidrFamily(cidr);
    if (!family) ctx.v1.error(joinIndex(path, i), `${show(cidr)} is not a CIDR (address/prefix)`);
    else families.push(family);
  }
  // Kubernetes dual stack: at most one subnet per family
  if (families.length > 2 || (families.length === 2 && families[0] === families[1])) {
    ctx.v1.error(path, 'may hold one subnet, or two of different families (one IPv4 and one IPv6, dual stack)');
  }
  return families;
}

/**
 * dnsDomain is a DNS name, and the pod/service subnets: each parses, and the two lists use the same
 * families in the same order.
 */
export function checkClusterNetwork(ctx: RuleContext): void {
  const network = mapAt(ctx.cluster, 'network');
  if (!network) return;
  const dnsDomain = strAt(network, 'dnsDomain');
  if (dnsDomain !== undefined && dnsDomain !== '' && !isDNSName(dnsDomain)) {
    ctx.v1.error('cluster.network.dnsDomain', `${show(dnsDomain)} is not a valid DNS name`);
  }
  const pods = checkSubnetList(ctx, network, 'podSubnets');
  const services = checkSubnetList(ctx, network, 'serviceSubnets');
  if (pods.length > 0 && services.length > 0 && pods.join() !== services.join()) {
    ctx.v1.error(
      'cluster.network.serviceSubnets',
      `families (${services.map((f) => `IPv${f}`).join(', ')}) must match podSubnets (${pods.map((f) => `IPv${f}`).join(', ')}): both single stack of one family, or both dual stack in the same order`,
    );
  }
}

/** etcd belongs to control planes, needs its CA there, and its subnets parse. */
export function checkEtcd(ctx: RuleContext): void {
  if (!ctx.cluster) return;
  const etcd = mapAt(ctx.cluster, 'etcd');
  if (ctx.isWorker && isSet(ctx.cluster, 'etcd')) {
    ctx.v1.error('cluster.etcd', 'must not be set on a worker: only control-plane nodes run etcd');
    return;
  }
  if (!ctx.isControlPlane) return;
  const ca = mapAt(etcd, 'ca');
  if (!strAt(ca, 'crt')) ctx.v1.error('cluster.etcd.ca.crt', 'required on a control plane: the etcd CA certificate');
  if (!strAt(ca, 'key'))
    ctx.v1.error('cluster.etcd.ca.key', 'required on a control plane: the etcd CA key that signs etcd certificates');
  if (isNonEmpty(etcd, 'subnet') && isNonEmpty(etcd, 'advertisedSubnets')) {
    ctx.v1.error(
      'cluster.etcd.advertisedSubnets',
      'subnet and advertisedSubnets are mutually exclusive (subnet is the older spelling)',
    );
  }
  const subnet = strAt(etcd, 'subnet');
  if (subnet && !isSubnetFilter(subnet)) ctx.v1.error('cluster.etcd.subnet', `${show(subnet)} is not a CIDR`);
  for (const key of ['advertisedSubnets', 'listenSubnets']) {
    for (const [i, value] of stringItems(etcd, key)) {
      if (!isSubnetFilter(value))
        ctx.v1.error(joinIndex(`cluster.etcd.${key}`, i), `${show(value)} is not a CIDR (a leading ! excludes it)`);
    }
  }
}

/** inlineManifests: every name is set and unique. */
export function checkInlineManifests(ctx: RuleContext): void {
  const seen = new Map<string, number>();
  for (const [i, manifest] of mapItems(ctx.cluster, 'inlineManifests')) {
    const path = joinIndex('cluster.inlineManifests', i);
    const name = (strAt(manifest, 'name') ?? '').trim();
    if (name === '') {
      ctx.v1.error(`${path}.name`, 'required: inline manifests need a non-blank name');
      continue;
    }
    const first = seen.get(name);
    if (first !== undefined)
      ctx.v1.error(
        `${path}.name`,
        `duplicate inline manifest name ${show(name)} (also cluster.inlineManifests[${first}])`,
      );
    else seen.set(name, i);
  }
}

function checkManifestURLs(ctx: RuleContext, section: PlainMap | undefined, key: string, path: string): void {
  for (const [i, url] of stringItems(section, key)) {
    const parsed = parseURL(url);
    if ('error' in parsed) ctx.v1.error(joinIndex(path, i), `${show(showURL(url))} ${parsed.error}`);
    else if (parsed.scheme !== 'http' && parsed.scheme !== 'https')
      ctx.v1.error(joinIndex(path, i), 'must be an http:// or https:// URL');
  }
}

/**
 * externalCloudProvider lists manifests only when enabled, and they are valid URLs, as are
 * extraManifests.
 */
export function checkManifests(ctx: RuleContext): void {
  const provider = mapAt(ctx.cluster, 'externalCloudProvider');
  if (provider && boolAt(provider, 'enabled') !== true && isNonEmpty(provider, 'manifests')) {
    ctx.v1.error(
      'cluster.externalCloudProvider.manifests',
      'lists manifests while externalCloudProvider is not enabled',
    );
  }
  checkManifestURLs(ctx, provider, 'manifests', 'cluster.externalCloudProvider.manifests');
  checkManifestURLs(ctx, ctx.cluster, 'extraManifests', 'cluster.extraManifests');
}

/** Discovery on with the service registry on (it is on unless disabled). */
export function discoveryServiceEnabled(cluster: PlainMap | undefined): boolean {
  const discovery = mapAt(cluster, 'discovery');
  const service = mapAt(mapAt(discovery, 'registries'), 'service');
  return boolAt(discovery, 'enabled') === true && boolAt(service, 'disabled') !== true;
}

/**
 * With the discovery service registry on: its endpoint, if set, is a URL with an empty path, and
 * the cluster id and secret are set.
 */
export function checkDiscovery(ctx: RuleContext): void {
  if (!discoveryServiceEnabled(ctx.cluster)) return;
  const endpoint = strAt(mapAt(mapAt(mapAt(ctx.cluster, 'discovery'), 'registries'), 'service'), 'endpoint');
  if (endpoint) {
    const path = 'cluster.discovery.registries.service.endpoint';
    const url = parseURL(endpoint);
    if ('error' in url) ctx.v1.error(path, `${show(showURL(endpoint))} ${url.error}`);
    else if (url.path !== '' && url.path !== '/') ctx.v1.error(path, 'must have an empty path (https://host[:port]/)');
  }
  const why = 'the discovery service registry is enabled and needs the cluster identity';
  if (!strAt(ctx.cluster, 'id')) ctx.v1.error('cluster.id', `required: ${why}`);
  if (!strAt(ctx.cluster, 'secret')) ctx.v1.error('cluster.secret', `required: ${why}`);
}
