#!/usr/bin/env node
// kubectl-talos: the kubectl plugin (kubectl finds `kubectl-talos` on PATH and runs it for
// `kubectl talos ...`). Connection flags are kubectl's: --kubeconfig, --context, -n/--namespace.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { adoptedServerKind } from '../api/adoptedserver.js';
import { kubernetesClusterKind } from '../api/kubernetescluster.js';
import { upgradeCluster } from './clusterupgrade.js';
import { health, kubeconfig, parseTarget, upgrade } from './commands.js';
import { dashboard } from './dashboard.js';
import { CLIError, KubeClient, type ConnectionFlags } from './kubeclient.js';
import { EXIT, EXIT_CODES_HELP } from './exitcodes.js';
import { MODES, type ValidateMode } from './validatemodes.js';
import { fleetStatus } from './status.js';
import type { OutputFormat } from './validate.js';
import { parseDuration } from '../machinery/duration.js';

/** the package's version (package.json at the repo root, above src/cli and dist/src/cli alike) */
function pluginVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

/**
 * validate and gen load Talos's validators and the config generator: loaded only for them, so
 * health, status and upgrade start without that cost
 */
async function offlineTools() {
  const [{ validateFiles }, { genConfig, genSecrets, versionTag }] = await Promise.all([
    import('./validate.js'),
    import('./offline.js'),
  ]);
  return { validateFiles, genConfig, genSecrets, versionTag };
}

function program(run: (p: Promise<number>) => void): Command {
  const cmd = new Command('kubectl talos')
    .description(
      'Talos nodes through the talos-fleet-apiserver (status, health, kubeconfig, upgrade) and offline Talos tools (validate, gen)',
    )
    .option('--kubeconfig <file>', 'path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'the kubeconfig context to use')
    .option('-n, --namespace <ns>', "namespace of the object (default: the context's)")
    .version(pluginVersion(), '--version', 'print the plugin version')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const client = () => KubeClient.load(cmd.opts<ConnectionFlags>());

  cmd
    .command('health')
    .description(
      'ask the node (or every node of the cluster) now: reachability, version, services, etcd (exit 1 unless Healthy)',
    )
    .argument('<adoptedserver/NAME|kubernetescluster/NAME>')
    .addOption(new Option('-o, --output <format>', 'json or yaml instead of a table').choices(['json', 'yaml']))
    .action((target: string, o: { output?: string }) => run(health(client(), target, o.output, process.stdout)));

  cmd
    .command('kubeconfig')
    .description("the admin kubeconfig of the node's (or the cluster's) Kubernetes, from a control-plane node")
    .argument('<adoptedserver/NAME|kubernetescluster/NAME>')
    .option(
      '-o, --output <file>',
      'write it to this file (mode 0600) instead of standard output; an existing kubeconfig is merged into, as talosctl does',
    )
    .option('--force', 'replace the file instead of merging into it', false)
    .action((target: string, o: { output?: string; force: boolean }) =>
      run(kubeconfig(client(), target, o.output, o.force, process.stdout)),
    );

  cmd
    .command('upgrade')
    .description(
      'upgrade the node to a Talos version, or roll the cluster to one (control planes one at a time, then workers)',
    )
    .argument('<adoptedserver/NAME|kubernetescluster/NAME>')
    .option('--to <version>', 'Talos version, e.g. v1.13.10 (or --image for a node)')
    .option('--image <ref>', "a node: the installer image to upgrade with instead of --to's default one")
    .option('--kubernetes <version>', 'a cluster: also move it to this Kubernetes version, e.g. 1.36.3')
    .option('--max-unavailable <count>', 'a cluster: workers upgraded at once (control planes always one at a time)')
    .option('--wait', 'follow the upgrade (each node of a cluster) until it completes or fails', false)
    .option('--timeout <duration>', 'how long --wait waits', '15m')
    .option('--stage', 'a node: stage the upgrade, performed on the next reboot', false)
    .option('--force', 'a node: skip the etcd checks; also replaces an upgrade in progress', false)
    .option('--allow-downgrade', 'allow a version older than the one running', false)
    .option('--preserve', 'a node: keep ephemeral data (Talos 1.8 and newer keep it anyway)', false)
    .addOption(
      new Option('--reboot-mode <mode>', 'a node: how it reboots into the new version')
        .choices(['default', 'powercycle'])
        .default('default'),
    )
    .action((target: string, o: UpgradeOptions) => run(upgradeTarget(client(), target, o)));
  cmd
    .command('dashboard')
    .description(
      'serve a live fleet page on 127.0.0.1 (the printed URL carries its token), using your kubeconfig credentials',
    )
    .option('--port <port>', 'port on 127.0.0.1 (0: a free one)', '0')
    .option('--open', "open the page in the desktop's browser", false)
    .action((o: { port: string; open: boolean }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new CLIError(`--port "${o.port}" is not a port number (0 to 65535)`, EXIT.usage);
      const { namespace } = cmd.opts<ConnectionFlags>();
      run(dashboard(client(), { port, open: o.open, namespace }, process.stdout, process.stderr));
    });
  cmd
    .command('status')
    .description(
      'the fleet on one screen: every KubernetesCluster with its Machines and nodes, then AdoptedServers, Machines and Servers outside clusters (exit 1 unless all are Ready)',
    )
    .option('-w, --watch', 'redraw on every change (from watches) until Ctrl-C', false)
    .option('--no-color', 'no colours (also NO_COLOR, or when standard output is not a terminal)')
    .option('-A, --all-namespaces', 'every namespace instead of the current one', false)
    .option('--watch-timeout <duration>', '-w: one watch request lasts this long, then continues in a new one', '5m')
    .action((o: { watch: boolean; color: boolean; allNamespaces: boolean; watchTimeout: string }) => {
      const watchTimeoutMs = durationFlag(o.watchTimeout, '--watch-timeout');
      const stop = new AbortController();
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
      run(
        fleetStatus(
          client(),
          { watch: o.watch, watchTimeoutMs, noColor: !o.color, allNamespaces: o.allNamespaces },
          { out: process.stdout, err: process.stderr, env: process.env, stop: stop.signal },
        ),
      );
    });
  cmd
    .command('validate')
    .description(
      "run the server's checks on the objects of our kinds (metal.sidero.dev, vitistack.io) and Talos's checks on raw Talos machine configs, with no cluster; other objects are counted and skipped (exit 0 valid, 1 problems, 2 usage)",
    )
    .requiredOption('-f, --filename <path>', 'a manifest or machine-config file, or a directory of them')
    .option('-R, --recursive', 'descend into directories', false)
    .option(
      '--talos-version <version>',
      'Talos version machine configs are for (default: from the installer image tag, else the newest stable)',
    )
    .addOption(
      new Option('--mode <mode>', 'Talos validation mode for machine configs, as talosctl validate --mode')
        .choices(MODES)
        .default('metal'),
    )
    .option(
      '--strict',
      'everything read must pass: machine-config warnings (as talosctl validate --strict), objects of other kinds and documents that are not objects count as problems',
      false,
    )
    .addOption(
      new Option('-o, --output <format>', 'json: an array of {file, line, column, kind, name, path, message, severity}')
        .choices(['text', 'json'])
        .default('text'),
    )
    .action(
      (o: {
        filename: string;
        recursive: boolean;
        talosVersion?: string;
        mode: ValidateMode;
        strict: boolean;
        output: OutputFormat;
      }) =>
        run(
          offlineTools().then(({ validateFiles, versionTag }) =>
            validateFiles(o.filename, o.recursive, process.stdout, {
              ...(o.talosVersion === undefined ? {} : { talosVersion: versionTag(o.talosVersion) }),
              mode: o.mode,
              strict: o.strict,
              output: o.output,
            }),
          ),
        ),
    );

  const gen = cmd.command('gen').description('generate Talos material offline');
  gen
    .command('secrets')
    .description("a Talos secrets bundle (talosctl's secrets.yaml format)")
    .option('-o, --output <file>', 'where to write it (mode 0600)', 'secrets.yaml')
    .option('--talos-version <version>', 'Talos version the bundle is for (default: the newest stable)')
    .option('--force', 'overwrite an existing file', false)
    .action((o: { output: string; talosVersion?: string; force: boolean }) =>
      run(offlineTools().then(({ genSecrets }) => genSecrets(o, process.stdout))),
    );
  gen
    .command('config')
    .description('controlplane.yaml, worker.yaml and talosconfig from a KubernetesCluster manifest')
    .requiredOption('-f, --filename <file>', 'the manifest holding the KubernetesCluster')
    .option('--endpoint <url>', 'https://HOST:6443 (default: spec.talos.endpoint)')
    .option('--secrets <file>', 'use this secrets bundle (default: a new one)')
    .option('--talos-version <version>', 'target Talos version (default: spec.talos.version, else the newest stable)')
    .requiredOption('-o, --output <dir>', 'directory to write to')
    .option('--force', 'overwrite existing files', false)
    .action(
      (o: {
        filename: string;
        endpoint?: string;
        secrets?: string;
        talosVersion?: string;
        output: string;
        force: boolean;
      }) =>
        run(
          offlineTools().then(({ genConfig }) =>
            genConfig(
              {
                file: o.filename,
                output: o.output,
                endpoint: o.endpoint,
                secrets: o.secrets,
                talosVersion: o.talosVersion,
                force: o.force,
              },
              process.stdout,
            ),
          ),
        ),
    );
  return cmd;
}

interface UpgradeOptions {
  to?: string;
  image?: string;
  preserve: boolean;
  rebootMode: 'default' | 'powercycle';
  kubernetes?: string;
  maxUnavailable?: string;
  wait: boolean;
  timeout: string;
  stage: boolean;
  force: boolean;
  allowDowngrade: boolean;
}

/** a node's upgrade or a cluster's, by the target's kind; a flag of the other kind is refused */
function upgradeTarget(kc: KubeClient, target: string, o: UpgradeOptions): Promise<number> {
  const { kind, name } = parseTarget(target, [adoptedServerKind, kubernetesClusterKind]);
  const timeoutMs = durationFlag(o.timeout, '--timeout');
  if ((o.to === undefined) === (o.image === undefined))
    throw new CLIError('give the target as one of --to VERSION or --image REF (a node)', EXIT.usage);
  if (kind === kubernetesClusterKind) {
    if (o.stage || o.force || o.image !== undefined || o.preserve || o.rebootMode !== 'default')
      throw new CLIError(
        '--stage, --force, --image, --preserve and --reboot-mode are for a node (adoptedserver/NAME)',
        EXIT.usage,
      );
    const maxUnavailable = o.maxUnavailable === undefined ? undefined : Number(o.maxUnavailable);
    if (maxUnavailable !== undefined && !(Number.isInteger(maxUnavailable) && maxUnavailable >= 1))
      throw new CLIError(`--max-unavailable "${o.maxUnavailable}" is not a whole number of at least 1`, EXIT.usage);
    return upgradeCluster(
      kc,
      name,
      {
        to: o.to!,
        kubernetes: o.kubernetes,
        maxUnavailable,
        allowDowngrade: o.allowDowngrade,
        wait: o.wait,
        timeoutMs,
      },
      process.stdout,
    );
  }
  if (o.kubernetes !== undefined || o.maxUnavailable !== undefined)
    throw new CLIError('--kubernetes and --max-unavailable are for a cluster (kubernetescluster/NAME)', EXIT.usage);
  return upgrade(
    kc,
    target,
    {
      ...(o.to === undefined ? { image: o.image! } : { to: o.to }),
      wait: o.wait,
      timeoutMs,
      stage: o.stage,
      force: o.force,
      allowDowngrade: o.allowDowngrade,
      preserve: o.preserve,
      rebootMode: o.rebootMode,
    },
    process.stdout,
  );
}

function durationFlag(v: string, flag: string): number {
  try {
    return parseDuration(v, flag);
  } catch (e) {
    throw new CLIError((e as Error).message, EXIT.usage);
  }
}

function fail(e: unknown): number {
  if (e instanceof CLIError) {
    // the server's refusal is printed as kubectl prints it, without a second "error:"
    process.stderr.write(e.message.startsWith('Error from server') ? `${e.message}\n` : `error: ${e.message}\n`);
    return e.exitCode;
  }
  process.stderr.write(`error: ${(e as Error)?.stack ?? String(e)}\n`);
  return EXIT.serverError;
}

let pending: Promise<number> | undefined;
try {
  program((p) => {
    pending = p;
  }).parse(process.argv);
} catch (e) {
  // commander has printed usage or the parse error already
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? EXIT.ok : EXIT.usage);
  process.exit(fail(e));
}
if (pending) {
  pending.then(
    (code) => process.exit(code),
    (e: unknown) => process.exit(fail(e)),
  );
}
