// A node's own network facts (hostname, links found by hardware address, static addresses) in the
// shape each contract reads, as a per-node patch on top of `gen config` would put them: the
// v1alpha1 `machine.network` section up to 1.11, typed documents from 1.12 (whose schema no longer
// has `machine.network.hostname` or `interfaces`). docs/per-node-configs.md has the mapping.
import type { ResolvedConfigInputs } from './inputs.js';
import { configDocument } from './documents.js';

type Fields = Record<string, unknown>;

/**
 * The name a link gets on the node from 1.12: an alias (`net0`, `net1`, … in input order), since
 * the typed documents name links instead of selecting them. Talos advises against kernel-style
 * names (eth0, ens3) for aliases; `net<i>` is the form its own examples use.
 */
export const linkAlias = (index: number) => `net${index}`;

/** Up to 1.11: `machine.network` with the hostname and one interface per link (struct key order). */
export function v1alpha1NetworkSection(inputs: ResolvedConfigInputs): Fields {
  const network: Fields = {};
  if (inputs.hostname !== undefined) network.hostname = inputs.hostname;
  if (inputs.interfaces.length > 0) {
    network.interfaces = inputs.interfaces.map((link) => ({
      deviceSelector: { hardwareAddr: link.hardwareAddr },
      ...(link.addresses.length > 0 ? { addresses: [...link.addresses] } : {}),
      ...(link.dhcp ? { dhcp: true } : {}),
    }));
  }
  return network;
}

/**
 * From 1.12, per link: LinkAliasConfig selecting it by hardware address (CEL over the link's
 * status, `mac(link.hardware_addr) == "…"`: the same match as v1alpha1's
 * `deviceSelector.hardwareAddr`, so a node keeps its links when its config moves to a newer
 * contract), LinkConfig with its static addresses, and DHCPv4Config when it also asks DHCP.
 */
export function linkDocuments(inputs: ResolvedConfigInputs): Fields[] {
  return inputs.interfaces.flatMap((link, i) => {
    const name = linkAlias(i);
    return [
      configDocument(
        'LinkAliasConfig',
        { selector: { match: `mac(link.hardware_addr) == "${link.hardwareAddr}"` } },
        name,
      ),
      configDocument(
        'LinkConfig',
        link.addresses.length > 0 ? { addresses: link.addresses.map((address) => ({ address })) } : {},
        name,
      ),
      ...(link.dhcp ? [configDocument('DHCPv4Config', {}, name)] : []),
    ];
  });
}
