// talos-sim: run a simulated Talos cluster until SIGINT/SIGTERM.
//   npm run sim -- --nodes 3 --controlplanes 1 --dir /tmp/sim [--version v1.13.9] [--reboot-seconds 3] [--secrets secrets.yaml]
// Writes DIR/talosconfig, DIR/control.json and, last, DIR/nodes.json once every node listens.
import { parseArgs } from 'node:util';
import { DEFAULT_VERSION, startSimulator, type SimulatorOptions } from './simulator.js';

const USAGE = `usage: talos-sim --nodes N --dir DIR [options]

  --nodes N             number of nodes (required)
  --dir DIR             where to write talosconfig, nodes.json, control.json (required)
  --controlplanes K     the first K nodes are control planes (default 1)
  --version TAG         Talos version the nodes run (default ${DEFAULT_VERSION})
  --reboot-seconds S    how long a reboot/upgrade keeps a node unreachable (default 3)
  --secrets FILE        trust and sign with the OS CA of this talosctl secrets.yaml
  --cluster-name NAME   cluster and talosconfig context name (default talos-sim)
  --awaiting-bootstrap  start with etcd waiting for a Bootstrap call
  --control-port PORT   port of the loopback control endpoint (default: any free port)
  -h, --help            show this help
`;

class UsageError extends Error {}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number`);
  return Number(value);
}

function parse(argv: string[]): SimulatorOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      nodes: { type: 'string' },
      dir: { type: 'string' },
      controlplanes: { type: 'string' },
      version: { type: 'string' },
      'reboot-seconds': { type: 'string' },
      secrets: { type: 'string' },
      'cluster-name': { type: 'string' },
      'awaiting-bootstrap': { type: 'boolean' },
      'control-port': { type: 'string' },
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
  return {
    nodes,
    dir: values.dir,
    controlPlanes: integer(values.controlplanes, '--controlplanes') ?? 1,
    ...(values.version !== undefined ? { version: values.version } : {}),
    ...(reboot !== undefined ? { rebootSeconds: Number(reboot) } : {}),
    ...(values.secrets !== undefined ? { secretsFile: values.secrets } : {}),
    ...(values['cluster-name'] !== undefined ? { clusterName: values['cluster-name'] } : {}),
    ...(values['control-port'] !== undefined ? { controlPort: integer(values['control-port'], '--control-port') } : {}),
    bootstrapped: !values['awaiting-bootstrap'],
  };
}

async function main(): Promise<number> {
  let opts: SimulatorOptions | 'help';
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
  try {
    sim = await startSimulator(opts);
  } catch (e) {
    process.stderr.write(`talos-sim: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  for (const n of sim.nodes())
    process.stdout.write(`talos-sim: ${n.name} (${n.role}, ${n.version}) on ${n.endpoint}\n`);
  process.stdout.write(`talos-sim: control ${sim.control.url}; files in ${opts.dir}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  process.stdout.write(`talos-sim: ${signal}, stopping\n`);
  await sim.stop();
  return 0;
}

process.exitCode = await main();
