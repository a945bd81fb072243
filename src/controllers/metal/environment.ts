// The Environment controller (`environment` in --controllers): fetches each Environment's kernel
// and initramfs into <data-dir>/environments/<name>/ (assetfetch.ts), one Ready condition per
// asset as Sidero has them, True only once the file is in place and verified, False with the
// reason (DownloadFailed, ChecksumMismatch, OutboundNotAllowed, NoURL) and retried with the
// runtime's backoff. An asset whose condition already says Ready for the same URL and SHA-512, and
// whose file is there, is not fetched again. The `default` Environment (the built-in Talos
// release, as Sidero creates it) is created when missing; a deleted Environment's files go.
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ENVIRONMENT_ASSETS,
  environmentCacheDir,
  TALOS_DEFAULT_KERNEL_ARGS,
  environmentKind,
  type Environment,
  type EnvironmentStatus,
} from '../../api/environment.js';
import { StatusError } from '../../machinery/errors.js';
import { groupVersion } from '../../machinery/kind.js';
import type { APIRegistry } from '../../machinery/registry/apis.js';
import { systemContext } from '../../machinery/registry/context.js';
import type { ResourceStore } from '../../machinery/registry/store.js';
import { DEFAULT_TALOS_VERSION } from '../../machineconfig/generate/versions.js';
import type { OutboundAllowList } from '../../talos/outbound.js';
import type { EventRecorder } from '../../events/recorder.js';
import type { ControllerSpec, ReconcileResult } from '../runtime/controller.js';
import { registryListWatch } from '../runtime/registrylistwatch.js';
import { AssetError, fetchAsset } from './assetfetch.js';

export const DEFAULT_ENVIRONMENT = 'default';

export interface EnvironmentControllerOptions {
  registry: APIRegistry;
  events: EventRecorder;
  allowList: OutboundAllowList;
  /** the cache: <dataDir>/environments/<name>/<file> */
  dataDir: string;
  /** one download's deadline (--environment-download-timeout) */
  downloadTimeoutMs: number;
}

export function environmentDir(dataDir: string, name: string): string {
  return environmentCacheDir(dataDir, name);
}

/** Talos's own kernel arguments and Sidero's, sorted, for the built-in release */
export const DEFAULT_KERNEL_ARGS = [
  ...TALOS_DEFAULT_KERNEL_ARGS,
  'selinux=1',
  'console=tty0',
  'console=ttyS0',
  'earlyprintk=ttyS0',
  'initrd=initramfs.xz',
  'talos.platform=metal',
].sort();

export function defaultEnvironment(release = DEFAULT_TALOS_VERSION): Environment {
  const base = `https://github.com/siderolabs/talos/releases/download/${release}`;
  return {
    apiVersion: groupVersion(environmentKind),
    kind: environmentKind.kind,
    metadata: { name: DEFAULT_ENVIRONMENT },
    spec: {
      kernel: { url: `${base}/vmlinuz-amd64`, args: DEFAULT_KERNEL_ARGS },
      initrd: { url: `${base}/initramfs-amd64.xz` },
    },
  };
}

/** creates `default` when it is missing; an existing one is the user's */
export async function ensureDefaultEnvironment(store: ResourceStore): Promise<void> {
  await store
    .create(undefined, { value: defaultEnvironment(), duplicates: [] }, systemContext())
    .catch((e: unknown) => {
      if (!(e instanceof StatusError && e.reason === 'AlreadyExists')) throw e;
    });
}

type AssetCondition = NonNullable<EnvironmentStatus['conditions']>[number];

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

export function environmentController(o: EnvironmentControllerOptions): ControllerSpec {
  const store = o.registry.storeOf(environmentKind);
  if (!store) throw new Error('the environments kind is not registered');
  return {
    name: 'environment',
    workers: 2,
    setup(ctx) {
      ctx.inform(registryListWatch(store), { resyncMs: 0 }).addEventHandler({
        add: (e) => ctx.queue.add(e.metadata.name!),
        update: (old, cur) => {
          if (old.metadata.generation !== cur.metadata.generation) ctx.queue.add(cur.metadata.name!);
        },
        delete: (e) => ctx.queue.add(e.metadata.name!),
      });
      ctx.queue.add(DEFAULT_ENVIRONMENT);
    },
    async reconcile(name): Promise<ReconcileResult | void> {
      let env: Environment;
      try {
        env = (await store.get(undefined, name)) as Environment;
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) throw e;
        await rm(environmentDir(o.dataDir, name), { recursive: true, force: true });
        // the built-in one is created when it is missing; its add event brings it back here
        if (name === DEFAULT_ENVIRONMENT) await ensureDefaultEnvironment(store);
        return;
      }
      if (env.metadata.deletionTimestamp) return;
      const before = env.status?.conditions ?? [];
      const conditions: AssetCondition[] = [];
      const failures: AssetError[] = [];
      for (const { field, file } of ENVIRONMENT_ASSETS) {
        const asset = env.spec?.[field];
        const url = asset?.url;
        const sha512 = asset?.sha512 || undefined;
        const target = join(environmentDir(o.dataDir, name), file);
        const ident = { ...(url ? { url } : {}), ...(sha512 ? { sha512 } : {}), type: 'Ready' };
        if (!url) {
          conditions.push({ ...ident, status: 'False', reason: 'NoURL', message: `spec.${field}.url is not set` });
          continue;
        }
        const cached = before.some((c) => c.status === 'True' && c.url === url && c.sha512 === sha512);
        if (cached && (await exists(target))) {
          conditions.push({ ...ident, status: 'True' });
          continue;
        }
        try {
          await fetchAsset(url, target, sha512, { allowList: o.allowList, timeoutMs: o.downloadTimeoutMs });
          conditions.push({ ...ident, status: 'True' });
        } catch (e) {
          if (!(e instanceof AssetError)) throw e;
          // what is cached no longer answers the spec
          await rm(target, { force: true });
          failures.push(e);
          conditions.push({ ...ident, status: 'False', reason: e.reason, message: e.message });
        }
      }
      if (JSON.stringify(before) !== JSON.stringify(conditions)) {
        await store
          .patch(undefined, name, 'merge', { status: { conditions } }, systemContext(), 'status')
          .catch((e: unknown) => {
            if (!(e instanceof StatusError && e.code === 404)) throw e;
          });
      }
      for (const f of failures) await o.events.record(env, 'Warning', f.reason, f.message);
      return failures.length > 0 ? { requeue: true } : undefined;
    },
  };
}
