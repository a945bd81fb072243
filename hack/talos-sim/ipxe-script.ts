// What a booting machine makes of the iPXE script the boot listener answers: boot from disk
// (`exit`, `sanboot`), or a kernel with its arguments and initrds; and what Talos reads from those
// arguments (where the boot agent registers, where its config is).

export type IpxeBoot =
  | { kind: 'disk'; how: 'exit' | 'sanboot' }
  | { kind: 'kernel'; kernel: string; args: string[]; initrds: string[] };

/** the script's boot; throws on a script that boots nothing a simulated machine can run */
export function readIpxeScript(text: string): IpxeBoot {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  let kernel: { url: string; args: string[] } | undefined;
  const initrds: string[] = [];
  for (const line of lines) {
    const [command, ...words] = line.split(/\s+/);
    if (command === 'exit') return { kind: 'disk', how: 'exit' };
    if (command === 'sanboot') return { kind: 'disk', how: 'sanboot' };
    if (command === 'kernel' && words[0]) kernel = { url: words[0], args: words.slice(1) };
    else if (command === 'initrd' && words[0]) initrds.push(words[0]);
    else if (command === 'boot') {
      if (!kernel) throw new Error('the iPXE script boots without a kernel');
      return { kind: 'kernel', kernel: kernel.url, args: kernel.args, initrds };
    } else throw new Error(`the iPXE script has a command a simulated machine does not run: ${line}`);
  }
  throw new Error('the iPXE script neither boots a kernel nor leaves to the disk');
}

/** the value of kernel argument `key` (the last one wins, as in Linux), or undefined */
export function kernelArg(args: readonly string[], key: string): string | undefined {
  let value: string | undefined;
  for (const a of args) if (a.startsWith(`${key}=`)) value = a.slice(key.length + 1);
  return value;
}

/**
 * The URL of `talos.config=` with the machine's facts filled in, as Talos's metal platform does:
 * `${uuid}` and `${mac}` are replaced, and an empty `uuid` query parameter gets the SMBIOS UUID.
 */
export function talosConfigURL(value: string, uuid: string, mac: string): URL {
  const url = new URL(value.replaceAll('${uuid}', uuid).replaceAll('${mac}', mac));
  if (url.searchParams.get('uuid') === '') url.searchParams.set('uuid', uuid);
  return url;
}
