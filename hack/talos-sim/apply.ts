// ApplyConfiguration as a configured node of the simulated version would answer it: a light
// validation of the YAML stream, then the mode's effect (live, staged, try with revert, reboot).
// Up to 1.13 a change of the kernel, disk encryption or extra kernel args needs a reboot: AUTO
// reboots for it, NO_REBOOT refuses it. (Maintenance mode is in maintenance.ts.)
import { status } from '@grpc/grpc-js';
import { parseAllDocuments } from 'yaml';
import type { ApplyConfigurationRequest__Output } from '../../src/talos/gen/machine/ApplyConfigurationRequest.js';
import type { ApplyConfiguration } from '../../src/talos/gen/machine/ApplyConfiguration.js';
import type { Lifecycle } from './lifecycle.js';
import { versionAtLeast, type Role, type SimNode } from './node.js';
import { RpcError } from './rpc-error.js';

const DEFAULT_TRY_MS = 60_000;

export function invalid(why: string): RpcError {
  return new RpcError(status.INVALID_ARGUMENT, why);
}

/**
 * Checks the stream is a machine config a node of `role` could take (any role: a node in
 * maintenance mode); returns warnings.
 */
export function validateConfig(data: Buffer, role: Role | undefined): string[] {
  if (data.length === 0) throw invalid('config data is empty');
  const docs = parseAllDocuments(data.toString('utf8'));
  const warnings: string[] = [];
  let legacy = 0;
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0)
      throw invalid(`failed to parse config: document ${i + 1}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw invalid(`document ${i + 1} is not a mapping`);
    const d = value as Record<string, unknown>;
    if (d['version'] === 'v1alpha1' && d['kind'] === undefined) {
      legacy++;
      const machine = d['machine'] as Record<string, unknown> | undefined;
      const type = machine?.['type'];
      const wantsControlPlane = type === 'controlplane' || type === 'init';
      if (role !== undefined && typeof type === 'string' && wantsControlPlane !== (role === 'controlplane')) {
        throw invalid(`machine type cannot be changed: the node is a ${role}, the config says ${type}`);
      }
      if (type === 'init') warnings.push('machine type "init" is deprecated, use "controlplane"');
    } else if (typeof d['apiVersion'] !== 'string' || typeof d['kind'] !== 'string') {
      throw invalid(`document ${i + 1}: missing apiVersion/kind (or version: v1alpha1)`);
    }
  }
  if (legacy > 1) throw invalid('duplicate v1alpha1 config document');
  if (legacy === 0 && !docs.some((d) => d.toJS() !== null)) throw invalid('config has no documents');
  return warnings;
}

export function lineDiff(before: string, after: string): string {
  const old = new Set(before.split('\n'));
  const now = new Set(after.split('\n'));
  const removed = [...old].filter((l) => !now.has(l)).map((l) => `-${l}`);
  const added = [...now].filter((l) => !old.has(l)).map((l) => `+${l}`);
  return [...removed, ...added].join('\n') || 'No changes.';
}

/** v1alpha1 sections whose change Talos up to 1.13 applies only with a reboot. */
const REBOOT_SECTIONS: readonly (readonly string[])[] = [
  ['machine', 'kernel'],
  ['machine', 'systemDiskEncryption'],
  ['machine', 'install', 'extraKernelArgs'],
];

function legacyDocument(data: Buffer | undefined): Record<string, unknown> {
  if (!data) return {};
  for (const doc of parseAllDocuments(data.toString('utf8'))) {
    const v: unknown = doc.toJS();
    if (typeof v === 'object' && v !== null && (v as Record<string, unknown>)['version'] === 'v1alpha1')
      return v as Record<string, unknown>;
  }
  return {};
}

/** The first section whose change needs a reboot, as `machine.kernel`; undefined when all apply live. */
export function rebootNeededFor(before: Buffer | undefined, after: Buffer): string | undefined {
  const [old, now] = [legacyDocument(before), legacyDocument(after)];
  const at = (doc: unknown, path: readonly string[]) =>
    JSON.stringify(
      path.reduce<unknown>(
        (v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined),
        doc,
      ) ?? null,
    );
  return REBOOT_SECTIONS.find((path) => at(old, path) !== at(now, path))?.join('.');
}

function durationMs(d: { seconds: string; nanos: number } | null): number {
  if (!d) return DEFAULT_TRY_MS;
  const ms = Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6);
  return ms > 0 ? ms : DEFAULT_TRY_MS;
}

export function applyConfiguration(
  req: ApplyConfigurationRequest__Output,
  node: SimNode,
  lifecycle: Lifecycle,
): ApplyConfiguration {
  const modern = versionAtLeast(node.version, 1, 14);
  if (req.mode === 'REBOOT' && modern) {
    throw new RpcError(
      status.UNIMPLEMENTED,
      'apply mode REBOOT is not supported on Talos 1.14+, use AUTO, NO_REBOOT, STAGED or TRY',
    );
  }
  if (node.faults.refuseConfig !== undefined) throw invalid(node.faults.refuseConfig);
  const warnings = validateConfig(req.data, node.role);
  const record = { data: Buffer.from(req.data), mode: req.mode, appliedAt: new Date() };
  if (req.dryRun) {
    const diff = lineDiff(node.config?.data.toString('utf8') ?? '', req.data.toString('utf8'));
    return { warnings, mode: req.mode, modeDetails: `Dry run summary:\nConfig diff:\n${diff}` };
  }
  if (req.mode === 'REBOOT' && lifecycle.busy(node))
    throw new RpcError(status.FAILED_PRECONDITION, 'a reboot is already in progress');
  lifecycle.confirm(node);
  switch (req.mode) {
    case 'STAGED':
      node.stagedConfig = record;
      node.changed();
      return { warnings, mode: 'STAGED', modeDetails: 'Staged configuration to be applied after the next reboot' };
    case 'TRY': {
      const ms = durationMs(req.tryModeTimeout);
      const previous = node.config;
      node.config = record;
      node.changed();
      lifecycle.scheduleRevert(node, previous, ms);
      return {
        warnings,
        mode: 'TRY',
        modeDetails: `Applied configuration in try mode, reverting in ${Math.round(ms / 1000)}s unless confirmed`,
      };
    }
    case 'REBOOT':
      node.stagedConfig = record;
      lifecycle.reboot(node);
      return { warnings, mode: 'REBOOT', modeDetails: 'Applied configuration with a reboot' };
    default: {
      // AUTO and NO_REBOOT: live, unless (up to 1.13) a change needs a reboot
      const needs = modern ? undefined : rebootNeededFor(node.config?.data, req.data);
      if (needs && req.mode === 'NO_REBOOT')
        throw invalid(`the configuration cannot be applied without a reboot: ${needs} changed (use AUTO or REBOOT)`);
      if (needs) {
        if (lifecycle.busy(node)) throw new RpcError(status.FAILED_PRECONDITION, 'a reboot is already in progress');
        node.stagedConfig = record;
        lifecycle.reboot(node);
        return { warnings, mode: 'REBOOT', modeDetails: `Applied configuration with a reboot: ${needs} changed` };
      }
      node.config = record;
      node.changed();
      return { warnings, mode: 'NO_REBOOT', modeDetails: 'Applied configuration without a reboot' };
    }
  }
}
