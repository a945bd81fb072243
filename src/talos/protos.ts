// Loads our Talos machine API protos (repo-root protos/) at run time with @grpc/proto-loader.
// The loader options below must stay in step with the `gen:protos` script in package.json, because
// the generated types in ./gen describe exactly the objects these options produce
// (camelCase fields, 64-bit integers as strings, enums as their names, defaults filled in, oneofs named).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as MachineProtos } from './gen/machine.js';
import type { ProtoGrpcType as ClusterProtos } from './gen/cluster.js';
import type { ProtoGrpcType as StorageProtos } from './gen/storage.js';
import type { ProtoGrpcType as ResourceProtos } from './gen/resource.js';

/** The proto files we load, relative to protos/ (the same list `gen:protos` generates from). */
export const PROTO_FILES = [
  'machine/machine.proto',
  'cluster/cluster.proto',
  'storage/storage.proto',
  'resource/resource.proto',
] as const;

const MARKER = join('protos', 'machine', 'machine.proto');

/**
 * The repo's protos/ directory. Code runs both from src/talos (vitest, tsx) and from
 * dist/src/talos (after tsc), so walk up from this module until a directory holds protos/.
 */
export function protosDir(start: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, MARKER))) return join(dir, 'protos');
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find protos/ (looked for ${MARKER} above ${start})`);
    dir = parent;
  }
}

export function loaderOptions(): protoLoader.Options {
  return {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [protosDir()],
  };
}

export type TalosProtos = MachineProtos & ClusterProtos & StorageProtos & ResourceProtos;

let loaded: TalosProtos | undefined;

/**
 * Service constructors and message types for machine.MachineService, cluster.ClusterService,
 * storage.StorageService and cosi.resource.State.
 */
export function talosProtos(): TalosProtos {
  if (!loaded) {
    const definition = protoLoader.loadSync([...PROTO_FILES], loaderOptions());
    loaded = grpc.loadPackageDefinition(definition) as unknown as TalosProtos;
  }
  return loaded;
}
