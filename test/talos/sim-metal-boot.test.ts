// What a simulated bare-metal machine makes of the boot listener's answers: the iPXE scripts
// src/boot/ipxe.ts writes (an Environment's kernel and arguments, the boot-from-disk methods), the
// talos.config URL with the machine's UUID filled in as Talos does, and bounded retries.
import { describe, expect, it } from 'vitest';
import { agentArgs, bootFromDiskScript, environmentScript, talosArgs } from '../../src/boot/ipxe.js';
import { BootGaveUp, retried, type BootReply } from '../../hack/talos-sim/boot-http.js';
import { kernelArg, readIpxeScript, talosConfigURL } from '../../hack/talos-sim/ipxe-script.js';
import { machineFacts } from '../../hack/talos-sim/metal-inventory.js';

const UUID = '4c4c4544-0030-4d10-8052-b3c04f4e3231';

describe('iPXE scripts as a simulated machine reads them', () => {
  it('the agent environment: kernel, initrd and the agent endpoint', () => {
    const script = environmentScript(
      'agent-amd64',
      agentArgs(['console=ttyS0'], 'aa-bb-cc-dd-ee-ff', '127.0.0.1:8081'),
    );
    const boot = readIpxeScript(script);
    expect(boot).toMatchObject({
      kind: 'kernel',
      kernel: '/env/agent-amd64/vmlinuz',
      initrds: ['/env/agent-amd64/initramfs.xz'],
    });
    if (boot.kind !== 'kernel') throw new Error('not a kernel');
    expect(kernelArg(boot.args, 'sidero.endpoint')).toBe('127.0.0.1:8081');
    expect(kernelArg(boot.args, 'talos.config')).toBeUndefined();
  });

  it('a Talos environment: talos.config with the UUID filled in', () => {
    const boot = readIpxeScript(environmentScript('talos', talosArgs(['talos.platform=metal'], '127.0.0.1:8081')));
    if (boot.kind !== 'kernel') throw new Error('not a kernel');
    expect(kernelArg(boot.args, 'sidero.endpoint')).toBeUndefined();
    const url = talosConfigURL(kernelArg(boot.args, 'talos.config')!, UUID, 'aa:bb:cc:dd:ee:ff');
    expect(url.href).toBe(`http://127.0.0.1:8081/configdata?uuid=${UUID}`);
    // Talos's ${uuid} variable too; a given uuid is left alone
    expect(talosConfigURL('http://h/c/${uuid}?m=${mac}', UUID, 'aa').href).toBe(`http://h/c/${UUID}?m=aa`);
    expect(talosConfigURL('http://h/c?uuid=other', UUID, 'aa').searchParams.get('uuid')).toBe('other');
  });

  it('boot-from-disk answers leave to the disk; anything else is refused with the line', () => {
    expect(readIpxeScript(bootFromDiskScript('ipxe-exit')!)).toEqual({ kind: 'disk', how: 'exit' });
    expect(readIpxeScript(bootFromDiskScript('ipxe-sanboot')!)).toEqual({ kind: 'disk', how: 'sanboot' });
    expect(() => readIpxeScript('#!ipxe\nchain http://elsewhere/\n')).toThrow(/chain http:\/\/elsewhere/);
    expect(() => readIpxeScript('#!ipxe\nboot\n')).toThrow(/without a kernel/);
    expect(() => readIpxeScript('')).toThrow(/neither boots/);
  });
});

describe('bounded retries', () => {
  const settings = { attempts: 3, retryMs: 1, timeoutMs: 1000 };
  const reply = (status: number): BootReply => ({ status, text: JSON.stringify({ message: `m${status}` }), bytes: 1 });
  const noWait = () => Promise.resolve();

  it('tries again until the reply is accepted, failures included', async () => {
    const answers = [
      () => Promise.reject(new Error('ECONNREFUSED')),
      () => Promise.resolve(reply(412)),
      () => Promise.resolve(reply(200)),
    ];
    let calls = 0;
    const r = await retried(
      settings,
      'GET /ipxe',
      () => answers[calls++]!(),
      (x) => x.status === 200,
      () => true,
      noWait,
    );
    expect(r?.status).toBe(200);
    expect(calls).toBe(3);
  });

  it('gives up after the attempts with the last refusal, and stops quietly once the machine is off', async () => {
    let calls = 0;
    const attempt = () => {
      calls++;
      return Promise.resolve(reply(404));
    };
    await expect(
      retried(
        settings,
        'GET /configdata',
        attempt,
        () => false,
        () => true,
        noWait,
      ),
    ).rejects.toThrow(new BootGaveUp('GET /configdata: gave up after 3 attempts (last: 404 m404)'));
    expect(calls).toBe(3);
    let on = true;
    const offAfterOne = () => {
      on = false;
      return Promise.resolve(reply(503));
    };
    expect(
      await retried(
        settings,
        'x',
        offAfterOne,
        () => false,
        () => on,
        noWait,
      ),
    ).toBeUndefined();
  });
});

describe('machine facts', () => {
  it('a UUID given is used (lower case), hardware overrides merge into the inventory, MACs are unicast and local', () => {
    const f = machineFacts(
      { uuid: UUID.toUpperCase(), hardware: { system: { manufacturer: 'Dell Inc.' } } },
      '127.1.2.3',
    );
    expect(f.uuid).toBe(UUID);
    expect(f.hardware['system']).toMatchObject({
      uuid: UUID,
      manufacturer: 'Dell Inc.',
      productName: 'Simulated Metal',
    });
    expect((f.hardware['network'] as any).interfaces[0]).toMatchObject({ mac: f.macs[0], addresses: ['127.1.2.3/8'] });
    for (const mac of f.macs) expect(parseInt(mac.slice(0, 2), 16) & 0x03).toBe(0x02);
    expect(() => machineFacts({ uuid: 'nope' }, '127.1.2.3')).toThrow(/not an SMBIOS UUID/);
  });
});
