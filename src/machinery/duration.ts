// Go-style durations as kube-apiserver and kubectl flags take them: 5m, 300s, 1h30m, 250ms, 0.

/** milliseconds of `v`; throws an Error naming `what` when it is not a duration */
export function parseDuration(v: string, what = 'the value'): number {
  if (v === '0') return 0;
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/.exec(v);
  if (!m || v === '') throw new Error(`${what} must be a duration such as 5m, 300s or 1h30m`);
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000 + Number(m[4] ?? 0);
}
