// The request path as the client sent it. WHATWG URL parsing (what the handlers read the path
// with) resolves dot segments, percent-encoded ones too (`%2E%2E`) and across backslashes, so
// `DELETE .../namespaces/x/secrets/%2E%2E` would act on the namespace x itself. Such paths are
// refused before they are resolved.

/** whether the path of a raw request target has a `.` or `..` segment, in any spelling URL parsing resolves */
export function hasDotSegment(rawTarget: string): boolean {
  const path = rawTarget.split(/[?#]/, 1)[0]!;
  return path.split(/[/\\]/).some((segment) => {
    const s = segment.replace(/%2e/gi, '.');
    return s === '.' || s === '..';
  });
}
