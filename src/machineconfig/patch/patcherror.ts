// A config patch that cannot be applied. It names the patch and where in the config it failed,
// so a user with several cluster, pool and machine patches knows which one to fix; an HTTP layer
// maps it to a 422. Messages never quote values: patched configs hold keys and tokens.

export class PatchError extends Error {
  override readonly name = 'PatchError';

  constructor(
    /** the patch's name, as given in Patch.name */
    readonly patch: string,
    /**
     * where it failed: a JSON pointer for RFC 6902 patches (`/machine/install/disk`); for
     * strategic patches a dotted path in the v1alpha1 document (`machine.install.disk`), prefixed
     * by the document for other kinds (`HostnameConfig.auto`, `VolumeConfig[name=EPHEMERAL].mount`),
     * or `documents[i]` for a patch document as a whole; empty for the config as a whole
     */
    readonly path: string,
    /** what went wrong, without patch name and path */
    readonly reason: string,
  ) {
    super(`config patch "${patch}" failed${path === '' ? '' : ` at ${path}`}: ${reason}`);
  }
}
