// Accept and Content-Type header parsing. Deciding what to serve is the caller's job; this only
// turns headers into data, leniently like kube's goautoneg (malformed alternatives are skipped).

export interface MediaTypeClause {
  /** lower case; `*` for wildcards */
  type: string;
  subtype: string;
  /** parameter names lower case, values unquoted, `q` excluded */
  params: Record<string, string>;
  /** quality 0..1; default 1 */
  q: number;
}

/** Splits on `sep` outside double-quoted strings (which may contain backslash escapes). */
function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inQuote) {
      if (c === '\\') i++;
      else if (c === '"') inQuote = false;
    } else if (c === '"') {
      inQuote = true;
    } else if (c === sep) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, '$1');
  return v;
}

/** Parses `type/subtype;k=v;...` parameters into a map (names lower-cased); `q` is returned apart. */
function parseParams(parts: string[]): { params: Record<string, string>; q: number | undefined } {
  const params: Record<string, string> = {};
  let q: number | undefined;
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    const value = unquote(part.slice(eq + 1).trim());
    if (name === '') continue;
    if (name === 'q') {
      // trimmed first, and no `[0-9]*\.?[0-9]+` (a run of digits split every way: quadratic)
      const t = value.trim();
      const n = /^(?:[0-9]+|[0-9]*\.[0-9]+)$/.test(t) ? Number(t) : 0;
      q = Math.min(1, Math.max(0, n));
    } else {
      Object.defineProperty(params, name, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return { params, q };
}

function parseRange(range: string): [string, string] | undefined {
  const r = range.trim().toLowerCase();
  if (r === '*') return ['*', '*'];
  const slash = r.split('/');
  if (slash.length !== 2) return undefined;
  const [type, subtype] = slash.map((x) => x.trim());
  if (!type || !subtype) return undefined;
  return [type, subtype];
}

/**
 * Parses an Accept header into its alternatives, best first: sorted by q (descending), ties keep
 * the client's order. Absent or empty header -> []. Alternatives with q=0 are kept (last).
 */
export function parseMediaTypes(header: string | undefined): MediaTypeClause[] {
  if (!header || header.trim() === '') return [];
  const clauses: MediaTypeClause[] = [];
  for (const alt of splitOutsideQuotes(header, ',')) {
    if (alt.trim() === '') continue;
    const [range, ...paramParts] = splitOutsideQuotes(alt, ';');
    const tr = parseRange(range);
    if (!tr) continue;
    const { params, q } = parseParams(paramParts);
    clauses.push({ type: tr[0], subtype: tr[1], params, q: q ?? 1 });
  }
  // Array.prototype.sort is stable.
  return clauses.sort((a, b) => b.q - a.q);
}

/**
 * Parses a Content-Type header: mediaType is `type/subtype` in lower case, '' when the header is
 * absent; a malformed value comes back as its lower-cased text so the caller's 415 can name it.
 */
export function parseContentType(h: string | undefined): { mediaType: string; params: Record<string, string> } {
  if (!h || h.trim() === '') return { mediaType: '', params: {} };
  const [range, ...paramParts] = splitOutsideQuotes(h, ';');
  const tr = parseRange(range);
  const { params } = parseParams(paramParts);
  return { mediaType: tr ? `${tr[0]}/${tr[1]}` : range.trim().toLowerCase(), params };
}
