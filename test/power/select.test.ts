// powerFor(): which implementation a Server gets, and the configurations it refuses (NotConfigured)
// before anything is dialled. Credentials come only from Secrets.
import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/api/server.js';
import { IPMIPower } from '../../src/power/ipmi.js';
import { ManagementAPIPower } from '../../src/power/managementapi.js';
import { PowerError } from '../../src/power/power.js';
import { RedfishPower } from '../../src/power/redfish.js';
import { powerFor, type PowerOptions } from '../../src/power/select.js';
import { OutboundAllowList } from '../../src/talos/outbound.js';

const options: PowerOptions = { allowList: OutboundAllowList.parse('127.0.0.0/8'), timeoutMs: 500, tlsVerify: true };
const data = new Map<string, Record<string, string>>([['default/bmc', { user: 'admin', pass: 's3cret' }]]);
const secrets = { get: (ns: string, name: string) => Promise.resolve(data.get(`${ns}/${name}`)) };
const ref = (name: string, key: string) => ({ secretKeyRef: { namespace: 'default', name, key } });
const withSpec = (spec: Server['spec']): Server => ({ metadata: { name: 'node-a' }, spec }) as Server;
const bmc = (extra: Record<string, unknown> = {}) => ({
  endpoint: '127.0.0.1',
  userFrom: ref('bmc', 'user'),
  passFrom: ref('bmc', 'pass'),
  ...extra,
});

async function notConfigured(server: Server): Promise<string> {
  try {
    await powerFor(server, secrets, options);
  } catch (e) {
    expect(e).toBeInstanceOf(PowerError);
    expect((e as PowerError).failure).toBe('NotConfigured');
    return (e as PowerError).message;
  }
  throw new Error('powerFor accepted the server');
}

describe('powerFor', () => {
  it('picks IPMI when spec.bmc.protocol is unset or ipmi, Redfish for redfish', async () => {
    expect(await powerFor(withSpec({ accepted: true, bmc: bmc() }), secrets, options)).toBeInstanceOf(IPMIPower);
    expect(
      await powerFor(withSpec({ accepted: true, bmc: bmc({ protocol: 'ipmi' }) }), secrets, options),
    ).toBeInstanceOf(IPMIPower);
    expect(
      await powerFor(withSpec({ accepted: true, bmc: bmc({ protocol: 'redfish' }) }), secrets, options),
    ).toBeInstanceOf(RedfishPower);
  });

  it("picks Sidero's HTTP API when spec.managementApi is set, as Sidero does, and needs no credentials", async () => {
    const server = withSpec({ accepted: true, managementApi: { endpoint: '127.0.0.1:8080' }, bmc: bmc() });
    expect(await powerFor(server, secrets, options)).toBeInstanceOf(ManagementAPIPower);
  });

  it('is NotConfigured without a BMC or management API', async () => {
    expect(await notConfigured(withSpec({ accepted: true }))).toContain('no BMC and no management API');
  });

  it('is NotConfigured for a BMC without credentials', async () => {
    expect(await notConfigured(withSpec({ accepted: true, bmc: { endpoint: '127.0.0.1' } }))).toContain(
      'the BMC has no credentials',
    );
    expect(
      await notConfigured(withSpec({ accepted: true, bmc: { endpoint: '127.0.0.1', passFrom: ref('bmc', 'pass') } })),
    ).toContain('no user');
  });

  it('never uses an inline password, and says where the password belongs', async () => {
    const message = await notConfigured(
      withSpec({ accepted: true, bmc: { endpoint: '127.0.0.1', user: 'admin', pass: 'inline' } }),
    );
    expect(message).toContain('spec.bmc.passFrom');
    expect(message).not.toContain('inline');
  });

  it('takes an inline user name with the password from a Secret', async () => {
    const server = withSpec({
      accepted: true,
      bmc: { endpoint: '127.0.0.1', user: 'admin', passFrom: ref('bmc', 'pass') },
    });
    expect(await powerFor(server, secrets, options)).toBeInstanceOf(IPMIPower);
  });

  it('is NotConfigured when the Secret or its key is missing', async () => {
    expect(await notConfigured(withSpec({ accepted: true, bmc: bmc({ passFrom: ref('gone', 'pass') }) }))).toContain(
      'Secret default/gone does not exist',
    );
    expect(await notConfigured(withSpec({ accepted: true, bmc: bmc({ passFrom: ref('bmc', 'password') }) }))).toContain(
      'has no key "password"',
    );
  });

  it('speaks only the lan and lanplus IPMI interfaces (never the local BMC of this machine)', async () => {
    expect(await notConfigured(withSpec({ accepted: true, bmc: bmc({ interface: 'open' }) }))).toContain(
      'interface "open"',
    );
    expect(
      await powerFor(withSpec({ accepted: true, bmc: bmc({ interface: 'lan' }) }), secrets, options),
    ).toBeInstanceOf(IPMIPower);
  });

  it('is NotConfigured for an endpoint that is not a host or http(s) URL, or carries credentials', async () => {
    expect(
      await notConfigured(withSpec({ accepted: true, bmc: bmc({ protocol: 'redfish', endpoint: 'ftp://127.0.0.1' }) })),
    ).toContain('only http:// and https://');
    expect(
      await notConfigured(
        withSpec({ accepted: true, bmc: bmc({ protocol: 'redfish', endpoint: 'https://root:pw@127.0.0.1' }) }),
      ),
    ).toContain('credentials belong in Secrets');
  });
});
