// One node's apid: a grpc-js server on the node's own loopback address. In maintenance mode it
// presents a throw-away certificate and asks for no client certificate; configured, it requires
// mTLS with its cluster's OS CA. It follows the node's state: listening unless the node is down,
// rebooting or off (or, a worker, waiting for its certificate), and bound again whenever its
// credentials change (installed config, new boot in maintenance mode, the wrongCA fault).
import * as grpc from '@grpc/grpc-js';
import { talosProtos } from '../../src/talos/protos.js';
import { MAX_MESSAGE_BYTES } from '../../src/talos/connection.js';
import type { ServerTls, SimFleet } from './fleet.js';
import { clusterService } from './cluster-service.js';
import { cosiService } from './cosi-service.js';
import type { Lifecycle } from './lifecycle.js';
import { machineService } from './machine-service.js';
import { storageService } from './storage-service.js';
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
  /** ServerTls.key of the credentials bound */
  private boundAs: string | undefined;
  /** reconciliations run one at a time, in order */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly onChange = () => {
    void this.reconcile();
  };

  constructor(
    readonly node: SimNode,
    private readonly fleet: SimFleet,
    private readonly lifecycle: Lifecycle,
  ) {
    node.on('change', this.onChange);
  }

  private wantListening(): boolean {
    const { phase } = this.node;
    return !this.closed && !this.node.faults.down && phase !== 'rebooting' && phase !== 'off';
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
    const tls = this.wantListening() ? await this.fleet.serverTls(this.node) : undefined;
    if (this.server && tls?.key !== this.boundAs) this.unbind();
    if (tls && !this.server) await this.listen(tls);
  }

  private credentials(tls: ServerTls): grpc.ServerCredentials {
    const keyPair = [{ cert_chain: Buffer.from(tls.pair.certPem), private_key: Buffer.from(tls.pair.keyPem) }];
    if (tls.clientCA === undefined) return grpc.ServerCredentials.createSsl(null, keyPair, false);
    // require and verify a client certificate
    return grpc.ServerCredentials.createSsl(Buffer.from(tls.clientCA), keyPair, true);
  }

  private async listen(tls: ServerTls): Promise<void> {
    const server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    });
    const env = { fleet: this.fleet, lifecycle: this.lifecycle, self: this.node };
    const protos = talosProtos();
    server.addService(protos.machine.MachineService.service, machineService(env));
    server.addService(protos.cluster.ClusterService.service, clusterService(env));
    server.addService(protos.storage.StorageService.service, storageService(env));
    server.addService(protos.cosi.resource.State.service, cosiService(env));
    for (let attempt = 1; ; attempt++) {
      try {
        await bind(server, `${this.node.ip}:${this.node.port}`, this.credentials(tls));
        break;
      } catch (e) {
        // a just-closed listener can hold the port for a moment
        if (attempt >= BIND_ATTEMPTS) throw e;
        await new Promise((r) => setTimeout(r, BIND_RETRY_MS));
      }
    }
    this.server = server;
    this.boundAs = tls.key;
    this.node.listening = true;
    this.node.emit('listening', this.node);
  }

  /** Drops the listener and every open connection, as a machine going away does. */
  private unbind(): void {
    this.server?.forceShutdown();
    this.server = undefined;
    this.boundAs = undefined;
    this.node.listening = false;
    this.node.emit('closed', this.node);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.node.off('change', this.onChange);
    await this.reconcile();
  }
}
