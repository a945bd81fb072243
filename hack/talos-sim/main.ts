// talos-sim: run simulated Talos machines until SIGINT/SIGTERM.
//   npm run sim -- --nodes 3 --controlplanes 1 --dir /tmp/sim [--version v1.13.9] [--reboot-seconds 3] [--secrets secrets.yaml]
//   npm run sim -- --maintenance --nodes 5 --dir /tmp/sim [--talos-port P] [--provide-machines --kubeconfig K --namespace NS]
//   npm run sim -- --maintenance --nodes 0 --bare-metal 3 --boot-url http://127.0.0.1:8081 --dir /tmp/sim
// Writes DIR/talosconfig (pre-configured mode), DIR/control.json and, last, DIR/nodes.json once
// every node listens; nodes.json follows the nodes as they are configured.
import { parseArgs } from 'node:util';
import { provideMachines, type MachineProvider } from './provider.js';
import { DEFAULT_KUBERNETES_VERSION, DEFAULT_VERSION, startSimulator, type SimulatorOptions } from './simulator.js';

const USAGE = `usage: talos-sim --nodes N --dir DIR [options]

  --nodes N             number of nodes (required; 0 with --bare-metal)
  --dir DIR             where to write talosconfig, nodes.json, control.json (required)
  --maintenance         the nodes boot without a configuration and wait for ApplyConfiguration
  --talos-port P        the port every node listens on (default: a free one)
  --reboot-ms MS        how long a reboot keeps a node unreachable, in ms (instead of --reboot-seconds)
  --provide-machines    act as the machine provider of the Machines in --namespace (maintenance mode)
  --kubeconfig FILE     how to reach the API server holding the Machines (with --provide-machines)
  --namespace NS        whose Machines to provide (with --provide-machines; default: the kubeconfig's)
  --controlplanes K     the first K nodes are control planes (default 1; not with --maintenance)
  --version TAG         Talos version the nodes run (default ${DEFAULT_VERSION})
  --kubernetes-version V  Kubernetes version of components whose image a config does not name (default ${DEFAULT_KUBERNETES_VERSION})
  --reboot-seconds S    how long a reboot/upgrade keeps a node unreachable (default 3)
  --secrets FILE        trust and sign with the OS CA of this talosctl secrets.yaml
  --cluster-name NAME   cluster and talosconfig context name (default talos-sim)
  --awaiting-bootstrap  start with etcd waiting for a Bootstrap call
  --control-port PORT   port of the loopback control endpoint (default: any free port)
  --bare-metal N        also N bare-metal machines, each with a fake Redfish BMC, off until powered on
  --boot-url URL        the boot listener they boot from, http://host:port (required with --bare-metal)
  --boot-attempts N     attempts of one boot-time request they try again (default 10)
  --boot-retry-ms MS    wait between two such attempts (default 2000)
  -h, --help            show this help
`;

class UsageError extends Error {}

interface CliOptions extends SimulatorOptions {
  provide?: { kubeconfig: string; namespace: string | undefined };
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number`);
  return Number(value);
}

function parse(argv: string[]): CliOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      nodes: { type: 'string' },
      dir: { type: 'string' },
      controlplanes: { type: 'string' },
      version: { type: 'string' },
      'kubernetes-version': { type: 'string' },
      'reboot-seconds': { type: 'string' },
      secrets: { type: 'string' },
      'cluster-name': { type: 'string' },
      'awaiting-bootstrap': { type: 'boolean' },
      'control-port': { type: 'string' },
      maintenance: { type: 'boolean' },
      'talos-port': { type: 'string' },
      'reboot-ms': { type: 'string' },
      'provide-machines': { type: 'boolean' },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'bare-metal': { type: 'string' },
      'boot-url': { type: 'string' },
      'boot-attempts': { type: 'string' },
      'boot-retry-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const nodes = integer(values.nodes, '--nodes');
  if (nodes === undefined) throw new UsageError('--nodes is required');
  if (!values.dir) throw new UsageError('--dir is required');
  const reboot = values['reboot-seconds'];
  if (reboot !== undefined && !/^\d+(\.\d+)?$/.test(reboot)) throw new UsageError('--reboot-seconds must be a number');
  if (values.maintenance && values.controlplanes !== undefined)
    throw new UsageError(
      '--controlplanes is for pre-configured nodes; a --maintenance node gets its role from its config',
    );
  if (values['provide-machines'] && !values.maintenance) throw new UsageError('--provide-machines needs --maintenance');
  if (values['provide-machines'] && !values.kubeconfig) throw new UsageError('--provide-machines needs --kubeconfig');
  if (!values['provide-machines'] && (values.kubeconfig || values.namespace))
    throw new UsageError('--kubeconfig and --namespace go with --provide-machines');
  const rebootMs = integer(values['reboot-ms'], '--reboot-ms');
  const bareMetal = integer(values['bare-metal'], '--bare-metal');
  const bootAttempts = integer(values['boot-attempts'], '--boot-attempts');
  const bootRetryMs = integer(values['boot-retry-ms'], '--boot-retry-ms');
  if (bareMetal && !values['boot-url']) throw new UsageError('--bare-metal needs --boot-url');
  if (!bareMetal && (values['boot-url'] || bootAttempts !== undefined || bootRetryMs !== undefined))
    throw new UsageError('--boot-url, --boot-attempts and --boot-retry-ms go with --bare-metal');
  const talosPort = integer(values['talos-port'], '--talos-port');
  return {
    nodes,
    dir: values.dir,
    ...(values.maintenance
      ? { maintenance: true }
      : { controlPlanes: integer(values.controlplanes, '--controlplanes') ?? 1 }),
    ...(values.version !== undefined ? { version: values.version } : {}),
    ...(values['kubernetes-version'] !== undefined ? { kubernetesVersion: values['kubernetes-version'] } : {}),
    ...(reboot !== undefined ? { rebootSeconds: Number(reboot) } : {}),
    ...(rebootMs !== undefined ? { rebootMs } : {}),
    ...(talosPort !== undefined ? { talosPort } : {}),
    ...(values.secrets !== undefined ? { secretsFile: values.secrets } : {}),
    ...(values['cluster-name'] !== undefined ? { clusterName: values['cluster-name'] } : {}),
    ...(values['control-port'] !== undefined ? { controlPort: integer(values['control-port'], '--control-port') } : {}),
    bootstrapped: !values['awaiting-bootstrap'],
    ...(bareMetal ? { bareMetal, bootURL: values['boot-url'] } : {}),
    ...(bootAttempts !== undefined ? { bootAttempts } : {}),
    ...(bootRetryMs !== undefined ? { bootRetryMs } : {}),
    ...(values['provide-machines'] && values.kubeconfig
      ? { provide: { kubeconfig: values.kubeconfig, namespace: values.namespace } }
      : {}),
  };
}

async function main(): Promise<number> {
  let opts: CliOptions | 'help';
  try {
    opts = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`talos-sim: ${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  let sim;
  let provider: MachineProvider | undefined;
  try {
    sim = await startSimulator(opts);
    if (opts.provide)
      provider = await provideMachines(sim, {
        api: { kubeconfig: opts.provide.kubeconfig },
        namespace: opts.provide.namespace,
      });
  } catch (e) {
    await sim?.stop();
    process.stderr.write(`talos-sim: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  for (const n of sim.nodes().filter((x) => !x.bareMetal))
    process.stdout.write(`talos-sim: ${n.name} (${n.role ?? 'maintenance'}, ${n.version}) on ${n.endpoint}\n`);
  for (const m of sim.bareMetal)
    process.stdout.write(
      `talos-sim: ${m.node.id} uuid ${m.uuid} at ${m.node.ip}, off; Redfish BMC ${m.bmc.url} (credentials in GET /state)\n`,
    );
  process.stdout.write(`talos-sim: control ${sim.control.url}; files in ${opts.dir}\n`);
  if (provider) process.stdout.write(`talos-sim: providing the Machines of namespace ${provider.namespace}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  process.stdout.write(`talos-sim: ${signal}, stopping\n`);
  await provider?.stop();
  await sim.stop();
  return 0;
}

process.exitCode = await main();
