// DIR/nodes.json follows the nodes: written once every node listens, and again (atomically)
// whenever what it lists changes (a node installed its config: name, role, hostname, version).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SimFleet } from './fleet.js';
import { writeFileAtomic } from './files.js';

export class NodesFile {
  private last = '';
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly onChange = () => this.refresh();

  private constructor(
    private readonly dir: string,
    private readonly fleet: SimFleet,
    private readonly list: () => unknown[],
  ) {}

  static async start(dir: string, fleet: SimFleet, list: () => unknown[]): Promise<NodesFile> {
    const file = new NodesFile(dir, fleet, list);
    file.refresh();
    await file.writing;
    for (const n of fleet.nodes) n.on('change', file.onChange);
    return file;
  }

  private refresh(): void {
    const text = `${JSON.stringify(this.list(), null, 2)}\n`;
    if (this.stopped || text === this.last) return;
    this.last = text;
    this.writing = this.writing
      .then(async () => {
        if (!this.stopped) await writeFileAtomic(this.dir, 'nodes.json', text);
      })
      .catch((e: unknown) =>
        process.emitWarning(`talos-sim: nodes.json: ${e instanceof Error ? e.message : String(e)}`),
      );
  }

  /** Stops following and removes the file. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const n of this.fleet.nodes) n.off('change', this.onChange);
    await this.writing;
    await rm(join(this.dir, 'nodes.json'), { force: true });
  }
}
