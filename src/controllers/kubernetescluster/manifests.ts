// --machine-manifests-dir (talos-operator's hack/results feature, off by default): each Machine a
// cluster should have is written as YAML to DIR/<cluster>/<machine>.yaml, rewritten when it
// changes, removed when the Machine is no longer wanted, and the cluster's directory goes with
// the cluster. The files hold the generated Machine objects only, never secret material (the
// machine configs stay in their Secrets). A failed write is reported, never a failed reconcile.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { KubeObject } from '../../machinery/kind.js';

const SUFFIX = '.yaml';

export class ManifestFiles {
  constructor(private readonly dir: string) {}

  /** writes what changed and removes what is no longer wanted; resolves to the failures */
  async sync(cluster: string, machines: readonly KubeObject[]): Promise<string[]> {
    const at = join(this.dir, cluster);
    const failures: string[] = [];
    try {
      await mkdir(at, { recursive: true, mode: 0o755 });
    } catch (e) {
      return [`${at}: ${(e as Error).message}`];
    }
    const wanted = new Set<string>();
    for (const m of machines) {
      const file = `${m.metadata.name}${SUFFIX}`;
      wanted.add(file);
      const text = stringify(m);
      const path = join(at, file);
      try {
        const old = await readFile(path, 'utf8').catch(() => undefined);
        if (old !== text) await writeFile(path, text, { mode: 0o644 });
      } catch (e) {
        failures.push(`${path}: ${(e as Error).message}`);
      }
    }
    const present = await readdir(at).catch(() => [] as string[]);
    for (const f of present.filter((x) => x.endsWith(SUFFIX) && !wanted.has(x))) {
      await rm(join(at, f), { force: true }).catch((e: unknown) =>
        failures.push(`${join(at, f)}: ${(e as Error).message}`),
      );
    }
    return failures;
  }

  /** removes the cluster's directory; resolves to the failure, if any */
  async remove(cluster: string): Promise<string | undefined> {
    const at = join(this.dir, cluster);
    try {
      await rm(at, { recursive: true, force: true });
      return undefined;
    } catch (e) {
      return `${at}: ${(e as Error).message}`;
    }
  }
}
