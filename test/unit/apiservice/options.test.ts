import { describe, expect, it } from 'vitest';
import { controllerEnabled, parseDuration, parseServerOptions } from '../../../apiservice/options.js';

describe('server flags', () => {
  it('has the defaults the README lists', () => {
    const o = parseServerOptions([]);
    expect(o).toMatchObject({
      dataDir: './.data',
      securePort: 8443,
      bindAddress: '127.0.0.1',
      storageBackend: 'embedded',
      resyncPeriodMs: 30_000,
      talosCallTimeoutMs: 10_000,
      controllers: ['*'],
    });
    expect(o.allowedOutboundNetworks).toBeUndefined();
  });

  it('takes the live-Talos flags', () => {
    const o = parseServerOptions([
      '--allowed-outbound-networks',
      '127.0.0.0/8,::1/128',
      '--resync-period',
      '1s',
      '--talos-call-timeout',
      '2s',
      '--controllers',
      '*,-adoptedserver',
    ]);
    expect(o).toMatchObject({
      allowedOutboundNetworks: '127.0.0.0/8,::1/128',
      resyncPeriodMs: 1000,
      talosCallTimeoutMs: 2000,
      controllers: ['*', '-adoptedserver'],
    });
  });

  it('takes the cluster lifecycle flags, off or at their defaults unless given', () => {
    const d = parseServerOptions([]);
    expect(d).toMatchObject({
      talosApiPort: 50000,
      clusterPollMs: 5000,
      clusterHealthTimeoutMs: 30_000,
      nodeUnreachableTimeoutMs: 600_000,
    });
    expect(d.machineManifestsDir).toBeUndefined();
    const o = parseServerOptions([
      '--talos-api-port',
      '50123',
      '--cluster-poll-interval',
      '50ms',
      '--cluster-health-timeout',
      '300ms',
      '--node-unreachable-timeout',
      '1s',
      '--machine-manifests-dir',
      '/tmp/m',
      '--controllers',
      '*,-machine,-clusterlifecycle',
    ]);
    expect(o).toMatchObject({
      talosApiPort: 50123,
      clusterPollMs: 50,
      clusterHealthTimeoutMs: 300,
      nodeUnreachableTimeoutMs: 1000,
      machineManifestsDir: '/tmp/m',
      controllers: ['*', '-machine', '-clusterlifecycle'],
    });
    expect(() => parseServerOptions(['--talos-api-port', '0'])).toThrow(/--talos-api-port/);
    expect(() => parseServerOptions(['--cluster-poll-interval', '0'])).toThrow(/--cluster-poll-interval/);
  });

  it('takes the bare-metal power flags', () => {
    expect(parseServerOptions([])).toMatchObject({ powerCallTimeoutMs: 20_000, bmcTlsVerify: true });
    expect(parseServerOptions(['--power-call-timeout', '300ms', '--bmc-insecure-skip-tls-verify'])).toMatchObject({
      powerCallTimeoutMs: 300,
      bmcTlsVerify: false,
    });
    expect(parseServerOptions(['--bmc-insecure-skip-tls-verify', 'false'])).toMatchObject({ bmcTlsVerify: true });
    expect(() => parseServerOptions(['--power-call-timeout', '0'])).toThrow(/--power-call-timeout/);
    expect(parseServerOptions([]).ipmiCipherSuite).toBeUndefined();
    expect(parseServerOptions(['--ipmi-cipher-suite', '17'])).toMatchObject({ ipmiCipherSuite: 17 });
    expect(() => parseServerOptions(['--ipmi-cipher-suite', 'best'])).toThrow(/cipher suite/);
  });

  it('refuses bad values with a message naming the flag', () => {
    expect(() => parseServerOptions(['--allowed-outbound-networks', '10.0.0.0/33'])).toThrow(
      /--allowed-outbound-networks/,
    );
    expect(() => parseServerOptions(['--controllers', 'namespace,frobnicator'])).toThrow(
      /unknown controller "frobnicator"/,
    );
    expect(() => parseServerOptions(['--resync-period', '0'])).toThrow(/--resync-period/);
    expect(() => parseServerOptions(['--resync-period', 'soon'])).toThrow(/duration/);
  });

  it("takes the connection bounds, with kube-apiserver's values as defaults", () => {
    expect(parseServerOptions([])).toMatchObject({
      requestTimeoutMs: 60_000,
      readHeaderTimeoutMs: 32_000,
      idleConnectionTimeoutMs: 90_000,
      maxUnauthenticatedConnectionsPerAddress: 32,
    });
    const o = parseServerOptions([
      '--request-timeout',
      '400ms',
      '--read-header-timeout',
      '300ms',
      '--idle-connection-timeout',
      '500ms',
      '--max-unauthenticated-connections-per-address',
      '0',
    ]);
    expect(o).toMatchObject({
      requestTimeoutMs: 400,
      readHeaderTimeoutMs: 300,
      idleConnectionTimeoutMs: 500,
      maxUnauthenticatedConnectionsPerAddress: 0,
    });
    expect(() => parseServerOptions(['--read-header-timeout', '0'])).toThrow(
      /--read-header-timeout must be more than 0/,
    );
    expect(() => parseServerOptions(['--idle-connection-timeout', '0'])).toThrow(/--idle-connection-timeout/);
    expect(() => parseServerOptions(['--request-timeout', 'later'])).toThrow(/duration/);
    expect(() => parseServerOptions(['--max-unauthenticated-connections-per-address', '-1'])).toThrow(
      /0 or a positive integer/,
    );
  });

  it('takes the embedded store flags', () => {
    expect(parseServerOptions([]).embedded).toEqual({ repairLog: false, maxHistoryBytes: 64 * 1024 * 1024 });
    const o = parseServerOptions([
      '--embedded-repair-log',
      '--embedded-max-history-bytes',
      '1048576',
      '--etcd-compaction-interval',
      '1m',
    ]);
    expect(o.embedded).toEqual({ repairLog: true, maxHistoryBytes: 1_048_576 });
    expect(o.etcd.compactionIntervalMs).toBe(60_000);
    expect(parseServerOptions(['--embedded-repair-log=false']).embedded.repairLog).toBe(false);
    expect(() => parseServerOptions(['--embedded-max-history-bytes', '0'])).toThrow(/--embedded-max-history-bytes/);
    expect(() => parseServerOptions(['--embedded-repair-log=maybe'])).toThrow(/--embedded-repair-log/);
  });

  it("takes the controller runtime's backoffs, with client-go's values as defaults", () => {
    expect(parseServerOptions([]).controllerRuntime).toMatchObject({
      baseBackoffMs: 5,
      maxBackoffMs: 1_000_000,
      qps: 10,
      burst: 100,
      relistBaseMs: 800,
      relistMaxMs: 30_000,
    });
    const o = parseServerOptions([
      '--controller-base-backoff',
      '1ms',
      '--controller-max-backoff',
      '50ms',
      '--controller-relist-backoff',
      '2ms',
      '--controller-relist-max-backoff',
      '20ms',
    ]);
    expect(o.controllerRuntime).toMatchObject({ baseBackoffMs: 1, maxBackoffMs: 50, relistBaseMs: 2, relistMaxMs: 20 });
    expect(() => parseServerOptions(['--controller-base-backoff', '0'])).toThrow(
      /--controller-base-backoff must be more than 0/,
    );
    expect(() => parseServerOptions(['--controller-base-backoff', '1s', '--controller-max-backoff', '10ms'])).toThrow(
      /--controller-max-backoff must not be less than --controller-base-backoff/,
    );
    expect(() => parseServerOptions(['--controller-relist-max-backoff', '1ms'])).toThrow(
      /--controller-relist-max-backoff/,
    );
    expect(() => parseServerOptions(['--controller-max-backoff', 'forever'])).toThrow(/duration/);
  });

  it('enables controllers as kube-controller-manager does', () => {
    expect(controllerEnabled(['*'], 'adoptedserver')).toBe(true);
    expect(controllerEnabled(['*', '-adoptedserver'], 'adoptedserver')).toBe(false);
    expect(controllerEnabled(['*', '-adoptedserver'], 'namespace')).toBe(true);
    expect(controllerEnabled(['namespace'], 'adoptedserver')).toBe(false);
    expect(controllerEnabled(['namespace'], 'namespace')).toBe(true);
  });

  it('parses Go durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('0')).toBe(0);
  });
});
