// One node's apid: a grpc-js server over mTLS (client certs must chain to the OS CA) on the node's
// own loopback address. It follows the node's state: listening unless the node is down or
// rebooting, and re-bound with the rogue certificate while the wrongCA fault is on.
import * as grpc from '@grpc/grpc-js';
import { talosProtos } from '../../src/talos/protos.js';
import { MAX_MESSAGE_BYTES } from '../../src/talos/connection.js';
import type { SimCluster } from './cluster.js';
import { clusterService } from './cluster-service.js';
import type { Lifecycle } from './lifecycle.js';
import { machineService } from './machine-service.js';
import type { SimNode } from './node.js';

const BIND_ATTEMPTS = 20;
const BIND_RETRY_MS = 100;

function bind(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, creds, (err, port) => (err ? reject(err) : resolve(port))),
  );
}

export class NodeServer {
  private server: grpc.Server | undefined;
  private boundWithRogueCert = false;
  /** reconciliations run one at a time, in order */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly onChange = () => {
    void this.reconcile();
  };

  constructor(
    readonly node: SimNode,
    private readonly cluster: SimCluster,
    private readonly lifecycle: Lifecycle,
  ) {
    node.on('change', this.onChange);
  }

  private wantListening(): boolean {
    return !this.closed && !this.node.faults.down && this.node.phase !== 'rebooting';
  }

  /** Brings the server in line with the node's state; resolves when it is. */
  reconcile(): Promise<void> {
    this.queue = this.queue
      .then(() => this.step())
      .catch((e: unknown) => {
        process.emitWarning(`talos-sim: node ${this.node.name}: ${e instanceof Error ? e.message : String(e)}`);
      });
    return this.queue;
  }

  private async step(): Promise<void> {
    const want = this.wantListening();
    if (this.server && (!want || this.boundWithRogueCert !== this.node.faults.wrongCA)) this.unbind();
    if (want && !this.server) await this.listen();
  }

  private credentials(): grpc.ServerCredentials {
    const pair = this.cluster.serverCert(this.node);
    return grpc.ServerCredentials.createSsl(
      Buffer.from(this.cluster.osCA.certPem),
      [{ cert_chain: Buffer.from(pair.certPem), private_key: Buffer.from(pair.keyPem) }],
      true, // require and verify a client certificate
    );
  }

  private async listen(): Promise<void> {
    const server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    });
    const env = { cluster: this.cluster, lifecycle: this.lifecycle, self: this.node };
    const protos = talosProtos();
    server.addService(protos.machine.MachineService.service, machineService(env));
    server.addService(protos.cluster.ClusterService.service, clusterService(env));
    const rogue = this.node.faults.wrongCA;
    // after the first bind the port stays the node's, so its endpoint survives reboots
    for (let attempt = 1; ; attempt++) {
      try {
        this.node.port = await bind(server, `${this.node.ip}:${this.node.port}`, this.credentials());
        break;
      } catch (e) {
        // a just-closed listener can hold the port for a moment
        if (attempt >= BIND_ATTEMPTS || this.node.port === 0) throw e;
        await new Promise((r) => setTimeout(r, BIND_RETRY_MS));
      }
    }
    this.server = server;
    this.boundWithRogueCert = rogue;
    this.node.listening = true;
    this.node.emit('listening', this.node);
  }

  /** Drops the listener and every open connection, as a machine going away does. */
  private unbind(): void {
    this.server?.forceShutdown();
    this.server = undefined;
    this.node.listening = false;
    this.node.emit('closed', this.node);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.node.off('change', this.onChange);
    await this.reconcile();
  }
}
