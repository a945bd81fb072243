// What every rule sees: the target contract, the mode, the machine's role, the v1alpha1 document
// and the typed documents, each with the scope its problems are reported through.
import { contractAtLeast, type TalosContract } from '../contract.js';
import type { DocumentScope } from './problem.js';
import { mapAt } from './values.js';
import type { PlainMap } from './yamltree.js';

export type Role = 'controlplane' | 'worker';
export type Mode = 'metal' | 'container';

export interface TypedDocument {
  /** `documents[i]`: position in the stream */
  label: string;
  apiVersion: string;
  kind: string;
  name?: string;
  value: PlainMap;
  scope: DocumentScope;
  /** false when the kind is newer than the target: the node rejects it, so it satisfies no requirement */
  knownToTarget: boolean;
}

export class RuleContext {
  readonly machine: PlainMap | undefined;
  readonly cluster: PlainMap | undefined;

  constructor(
    readonly contract: TalosContract,
    readonly mode: Mode | undefined,
    /** undefined when machine.type is unknown: role-specific rules are skipped rather than guessed */
    readonly role: Role | undefined,
    /** the v1alpha1 document (empty when the stream has none) */
    readonly config: PlainMap,
    readonly v1: DocumentScope,
    readonly typed: readonly TypedDocument[],
  ) {
    this.machine = mapAt(config, 'machine');
    this.cluster = mapAt(config, 'cluster');
  }

  atLeast(major: number, minor: number): boolean {
    return contractAtLeast(this.contract, major, minor);
  }

  /** The documents of a kind the target decodes (a kind it rejects is reported once, by rules-documents.ts). */
  documentsOf(kind: string): TypedDocument[] {
    return this.typed.filter((d) => d.kind === kind && d.knownToTarget);
  }

  get isControlPlane(): boolean {
    return this.role === 'controlplane';
  }

  get isWorker(): boolean {
    return this.role === 'worker';
  }
}

/** machine.type -> role: `init` is a control plane; `join` and empty are workers. */
export function roleOf(type: string | undefined): Role | undefined {
  switch (type ?? '') {
    case 'controlplane':
    case 'init':
      return 'controlplane';
    case 'worker':
    case 'join':
    case '':
      return 'worker';
    default:
      return undefined;
  }
}
