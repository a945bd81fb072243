// Which PowerControl drives a Server: Sidero's management API when `spec.managementApi` is set (as
// Sidero chooses), else the BMC by `spec.bmc.protocol` (ipmi when unset, or redfish). BMC credentials
// come only from Secrets (`userFrom`/`passFrom`); an inline password is never used.
import type { Server } from '../api/server.js';
import type { SecretStore } from '../secrets/secretstore.js';
import type { OutboundAllowList } from '../talos/outbound.js';
import { endpointURL } from './http.js';
import { IPMI_INTERFACES, IPMIPower, type IPMIInterface } from './ipmi.js';
import { ManagementAPIPower } from './managementapi.js';
import { PowerError, type PowerControl } from './power.js';
import { RedfishPower } from './redfish.js';

export const DEFAULT_IPMI_PORT = 623;

export interface PowerOptions {
  /** --allowed-outbound-networks: every BMC and power API address must be in it */
  allowList: OutboundAllowList;
  /** --power-call-timeout: deadline of one power call (one ipmitool run, one HTTP exchange) */
  timeoutMs: number;
  /** check Redfish services' TLS certificates (--bmc-insecure-skip-tls-verify turns it off) */
  tlsVerify: boolean;
  /** the ipmitool binary; default `ipmitool` on PATH */
  ipmitool?: string;
  /** --ipmi-cipher-suite: lanplus cipher suite; unset: ipmitool asks the BMC (which some BMCs cannot answer) */
  ipmiCipherSuite?: number;
}

type SecretRef = { secretKeyRef: { namespace: string; name: string; key: string } };

export async function powerFor(
  server: Server,
  secrets: Pick<SecretStore, 'get'>,
  options: PowerOptions,
): Promise<PowerControl> {
  const spec = server.spec ?? { accepted: false };
  const pxeMode = spec.pxeMode ?? 'uefi';
  if (spec.managementApi?.endpoint) {
    return new ManagementAPIPower({
      base: endpointURL(spec.managementApi.endpoint, 'http'),
      allowList: options.allowList,
      timeoutMs: options.timeoutMs,
      tlsVerify: options.tlsVerify,
      what: `management API of server ${server.metadata.name}`,
    });
  }
  const bmc = spec.bmc;
  if (!bmc?.endpoint)
    throw new PowerError('NotConfigured', `server ${server.metadata.name} has no BMC and no management API`);
  const user = bmc.userFrom ? await secretValue(secrets, bmc.userFrom, 'spec.bmc.userFrom') : bmc.user;
  if (!bmc.passFrom) {
    throw new PowerError(
      'NotConfigured',
      bmc.pass
        ? 'spec.bmc.pass is never used: put the password in a Secret and name it in spec.bmc.passFrom.secretKeyRef'
        : `server ${server.metadata.name}: the BMC has no credentials (spec.bmc.userFrom and spec.bmc.passFrom name Secret keys)`,
    );
  }
  const pass = await secretValue(secrets, bmc.passFrom, 'spec.bmc.passFrom');
  if (!user)
    throw new PowerError('NotConfigured', `server ${server.metadata.name}: the BMC has no user (spec.bmc.userFrom)`);
  const protocol = bmc.protocol ?? 'ipmi';
  if (protocol === 'redfish') {
    return new RedfishPower(
      {
        base: endpointURL(bmc.endpoint, 'https', bmc.port),
        allowList: options.allowList,
        timeoutMs: options.timeoutMs,
        tlsVerify: options.tlsVerify,
        basicAuth: { user, pass },
        what: `Redfish service of server ${server.metadata.name}`,
      },
      pxeMode,
    );
  }
  const iface = bmc.interface || 'lanplus';
  // other ipmitool interfaces (open, imb, ...) would drive the BMC of the machine this server runs on
  if (!(IPMI_INTERFACES as readonly string[]).includes(iface))
    throw new PowerError(
      'NotConfigured',
      `spec.bmc.interface ${JSON.stringify(iface)}: only ${IPMI_INTERFACES.join(' and ')} are spoken`,
    );
  return new IPMIPower({
    host: bmc.endpoint,
    port: bmc.port || DEFAULT_IPMI_PORT,
    interface: iface as IPMIInterface,
    user,
    pass,
    pxeMode,
    allowList: options.allowList,
    timeoutMs: options.timeoutMs,
    ...(options.ipmitool ? { ipmitool: options.ipmitool } : {}),
    ...(options.ipmiCipherSuite !== undefined ? { cipherSuite: options.ipmiCipherSuite } : {}),
  });
}

async function secretValue(secrets: Pick<SecretStore, 'get'>, ref: SecretRef, field: string): Promise<string> {
  const { namespace, name, key } = ref.secretKeyRef;
  const data = await secrets.get(namespace, name);
  if (!data) throw new PowerError('NotConfigured', `${field}: Secret ${namespace}/${name} does not exist`);
  const value = data[key];
  if (value === undefined || value === '')
    throw new PowerError('NotConfigured', `${field}: Secret ${namespace}/${name} has no key ${JSON.stringify(key)}`);
  return value;
}
