// `kubectl talos status [-w]`: the fleet on one screen. Once: list, print, exit 1 when anything
// shown is not Ready. With -w: the same, then a redraw on every change the watches bring. On a
// terminal the previous picture is overwritten in place (cursor movement, no full-screen mode);
// anywhere else (a pipe, a file, a CI log) each change prints a new snapshot after a blank line
// and a timestamp header. Colour only on a terminal, never with --no-color or NO_COLOR.
import { fleetOf, type Fleet, type FleetLists } from './fleet.js';
import { renderFleet } from './fleetrender.js';
import { FleetMirror, fleetSources } from './fleetwatch.js';
import { EXIT } from './exitcodes.js';
import type { KubeClient } from './kubeclient.js';

export interface StatusFlags {
  watch: boolean;
  /** -w: how long one watch request lasts before it is opened again */
  watchTimeoutMs: number;
  noColor: boolean;
  allNamespaces: boolean;
}

export interface Terminal {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  err: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
  /** fires on Ctrl-C (SIGINT) or SIGTERM: -w then exits 0 */
  stop: AbortSignal;
}

const allReady = (f: Fleet) => [...f.clusters, ...f.standalone].every((r) => r.state === 'ok');

export async function fleetStatus(kc: KubeClient, flags: StatusFlags, t: Terminal): Promise<number> {
  const tty = !!t.out.isTTY;
  // NO_COLOR: any non-empty value (no-color.org)
  const color = tty && !flags.noColor && !t.env.NO_COLOR;
  const mirror = new FleetMirror(kc, fleetSources(flags.allNamespaces ? undefined : kc.namespace), (m) =>
    t.err.write(`warning: ${m}\n`),
  );
  await mirror.listAll();
  const draw = (lists: FleetLists) =>
    renderFleet(fleetOf(lists), {
      color,
      namespaces: flags.allNamespaces,
      ...(tty && t.out.columns ? { width: t.out.columns } : {}),
    });
  const first = draw(mirror.lists());
  if (!flags.watch) {
    t.out.write(first);
    return allReady(fleetOf(mirror.lists())) ? EXIT.ok : EXIT.unhealthy;
  }
  let shown = '';
  let shownLines = 0;
  const show = (picture: string) => {
    if (picture === shown) return; // a change nothing on the screen shows (a heartbeat)
    shown = picture;
    const header = `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}  kubectl talos status -w (Ctrl-C to stop)\n`;
    if (tty) {
      // back to the first line of the previous picture, clear below it, draw again
      t.out.write(`${shownLines > 0 ? `\x1b[${shownLines}F\x1b[J` : ''}${header}${picture}`);
      shownLines = (header + picture).split('\n').length - 1;
    } else {
      t.out.write(`${shownLines > 0 ? '\n' : ''}${header}${picture}`);
      shownLines = 1;
    }
  };
  show(first);
  await mirror.watchAll({
    onChange: (lists) => show(draw(lists)),
    warn: (m) => t.err.write(`warning: ${m}\n`),
    signal: t.stop,
    watchTimeoutMs: flags.watchTimeoutMs,
  });
  return EXIT.ok;
}
