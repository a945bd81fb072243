// What every simulated call goes through before its handler: the listening node's faults (frozen,
// slow); in maintenance mode only the few methods such a node serves, for anyone, on itself;
// configured, apid's authorization, the `node` metadata target (apid's one-to-one proxying, to a
// node of the same cluster) and that target's faults; then failures become gRPC statuses.
import {
  status,
  type Metadata,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import { authorize, type ServerSurfaceCall } from './auth.js';
import type { SimFleet } from './fleet.js';
import { MAINTENANCE_METHODS } from './maintenance.js';
import type { Lifecycle } from './lifecycle.js';
import type { SimNode } from './node.js';
import { RpcError } from './rpc-error.js';

export interface HandlerEnv {
  fleet: SimFleet;
  lifecycle: Lifecycle;
  /** the node whose apid received the call */
  self: SimNode;
}

export interface CallInfo {
  /** the client certificate's roles (none in maintenance mode) */
  roles: string[];
  /** the node that handles the call (self, or the `node` metadata target) */
  node: SimNode;
  /** true once the caller went away (deadline, cancel, server shutdown) */
  cancelled(): boolean;
}

function whenCancelled(call: ServerSurfaceCall): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new RpcError(status.CANCELLED, 'call cancelled'));
    if (call.cancelled) fail();
    else call.once('cancelled', fail);
  });
}

/** Frozen: never answer (the caller's deadline ends it). Slow: answer late. */
async function suffer(node: SimNode, call: ServerSurfaceCall): Promise<void> {
  if (node.faults.frozen) await whenCancelled(call);
  if (node.faults.latencyMs > 0) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, node.faults.latencyMs);
    });
    try {
      await Promise.race([late, whenCancelled(call)]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function targetName(metadata: Metadata): string | undefined {
  if (metadata.get('nodes').length > 0) {
    throw new RpcError(
      status.INVALID_ARGUMENT,
      'the simulator proxies one-to-one only: use the "node" metadata key, not "nodes"',
    );
  }
  const values = metadata.get('node');
  if (values.length > 1) throw new RpcError(status.INVALID_ARGUMENT, 'only one "node" metadata value is allowed');
  const v = values[0];
  return v === undefined ? undefined : String(v);
}

async function admit(env: HandlerEnv, call: ServerSurfaceCall, method: string): Promise<CallInfo> {
  await suffer(env.self, call);
  const cancelled = () => call.cancelled;
  if (!env.self.configured) {
    // maintenance mode: no client certificate, no proxying, a handful of methods
    if (!MAINTENANCE_METHODS.has(method))
      throw new RpcError(
        status.UNIMPLEMENTED,
        `${method.split('/').pop() ?? method} is not available in maintenance mode`,
      );
    return { roles: [], node: env.self, cancelled };
  }
  const roles = authorize(call, method);
  const name = targetName(call.metadata);
  let node = env.self;
  if (name !== undefined && name !== env.self.ip && name !== env.self.name) {
    const target = env.fleet.find(name);
    // apid dials <node>:50000; report what it would see
    if (!target) throw new RpcError(status.UNAVAILABLE, `connection error: dial tcp: lookup ${name}: no such host`);
    if (!target.listening)
      throw new RpcError(
        status.UNAVAILABLE,
        `connection error: dial tcp ${target.ip}:50000: connect: connection refused`,
      );
    if (target.faults.wrongCA || target.cluster !== env.self.cluster) {
      throw new RpcError(
        status.UNAVAILABLE,
        'connection error: authentication handshake failed: x509: certificate signed by unknown authority',
      );
    }
    await suffer(target, call);
    node = target;
  }
  return { roles, node, cancelled };
}

function toStatus(e: unknown): { code: status; details: string } {
  if (e instanceof RpcError) return { code: e.code, details: e.details };
  return { code: status.INTERNAL, details: e instanceof Error ? e.message : String(e) };
}

export function unary<Req, Res>(
  env: HandlerEnv,
  method: string,
  impl: (req: Req, info: CallInfo) => Res | Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    admit(env, call, method)
      .then((info) => impl(call.request, info))
      .then(
        (res) => callback(null, res),
        (e: unknown) => callback(toStatus(e)),
      );
  };
}

export function serverStream<Req, Msg>(
  env: HandlerEnv,
  method: string,
  impl: (req: Req, info: CallInfo, send: (msg: Msg) => void) => Promise<void>,
): (call: ServerWritableStream<Req, Msg>) => void {
  return (call) => {
    admit(env, call, method)
      .then((info) =>
        impl(call.request, info, (msg) => {
          if (!call.cancelled) call.write(msg);
        }),
      )
      .then(
        () => call.end(),
        (e: unknown) => {
          if (!call.cancelled) call.emit('error', toStatus(e));
        },
      );
  };
}
