// The Talos "version contract": which Talos minor release generated output must be loadable by.
// Generators branch on it (documents and keys added or moved per release); secrets depend on it for
// a few formats (the cluster id's base64 alphabet, the service-account key type).

export interface TalosContract {
  major: number;
  minor: number;
}

/** Parses `1.8`, `v1.8` or a full version such as `v1.8.4` / `1.14.0-rc.1` (patch and pre-release are ignored). */
export function parseContract(version: string): TalosContract {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(version.trim());
  if (!m) throw new Error(`invalid Talos version "${version}": expected MAJOR.MINOR, e.g. v1.13`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export function contractAtLeast(contract: TalosContract, major: number, minor: number): boolean {
  return contract.major > major || (contract.major === major && contract.minor >= minor);
}

export function formatContract(contract: TalosContract): string {
  return `v${contract.major}.${contract.minor}`;
}
