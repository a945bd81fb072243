// The one shape of an admission plugin, and the chain the registry calls. A plugin is the hooks
// the generic store calls on every write (AdmissionHooks: mutate and validate before the write,
// committed after it) plus a name. The in-process path runs every plugin through the chain; the
// AdmissionReview endpoints (review.ts) call the same hooks of the plugins that need nothing but
// the request, so a check is written once and served both ways.
import { StatusError } from '../machinery/errors.js';
import type { AdmissionHooks } from '../machinery/registry/store.js';

export interface AdmissionPlugin extends AdmissionHooks {
  /** kube's style (NamespaceLifecycle): names the plugin in the log when it fails unexpectedly */
  readonly name: string;
}

/** a plugin's own refusal (a StatusError) passes as it is; anything else is a fault and says whose */
async function calling(plugin: AdmissionPlugin, hook: () => Promise<void> | undefined): Promise<void> {
  try {
    await hook();
  } catch (e) {
    if (e instanceof StatusError || !(e instanceof Error)) throw e;
    throw new Error(`admission plugin ${plugin.name}: ${e.message}`, { cause: e });
  }
}

/** the plugins as one set of hooks, each hook called plugin by plugin in order */
export function admissionChain(plugins: AdmissionPlugin[]): AdmissionHooks {
  return {
    async mutate(op, obj, old, ctx) {
      for (const p of plugins) await calling(p, () => p.mutate?.(op, obj, old, ctx));
    },
    async validate(op, obj, old, ctx) {
      for (const p of plugins) await calling(p, () => p.validate?.(op, obj, old, ctx));
    },
    async committed(op, obj, ctx) {
      for (const p of plugins) await calling(p, () => p.committed?.(op, obj, ctx));
    },
  };
}
