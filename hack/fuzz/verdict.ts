// Which 5xx answers are not failures. Two are kube-apiserver's own behaviour (a resourceVersion
// ahead of the store; a live subresource whose Talos node cannot be reached). The rest is a
// TEMPORARY allow-list of defects being fixed on another branch, one entry per defect, named after
// it: remove each entry once its fix is merged, and the fuzzer fails on that defect again.
import { METHODS } from 'node:http';
import {
  AFTER_OVERSIZED,
  CLIENT_REFUSED,
  headerBytes,
  OVERSIZED_HEADERS,
  type FuzzRequest,
  type FuzzResponse,
} from './transport.js';

interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
  details?: { causes?: { reason?: string }[] };
}

export function statusBody(res: FuzzResponse): StatusBody {
  try {
    const v = JSON.parse(res.body.toString('utf8')) as StatusBody;
    return typeof v === 'object' && v !== null ? v : {};
  } catch {
    return {};
  }
}

/** a HEAD answer has no body to show its cause: the request must have asked for a version far ahead */
function futureResourceVersion(path: string): boolean {
  const rv = new URLSearchParams(path.split('?')[1] ?? '').get('resourceVersion') ?? '';
  return /^\d+$/.test(rv) && Number(rv) >= 100_000;
}

/** 5xx answers kube-apiserver gives the same way: by design, counted but not failures */
export const EXPECTED_5XX: { name: string; matches(req: FuzzRequest, res: FuzzResponse, s: StatusBody): boolean }[] = [
  {
    // kube-apiserver waits briefly for a resourceVersion ahead of its store, then answers 504 with
    // this cause and Retry-After (storage.NewTooLargeResourceVersionError)
    name: 'resourceVersion ahead of the store (504 ResourceVersionTooLarge)',
    matches: (req, res, s) =>
      res.status === 504 &&
      ((s.details?.causes ?? []).some((c) => c.reason === 'ResourceVersionTooLarge') ||
        (req.method === 'HEAD' && futureResourceVersion(req.path))),
  },
  {
    // the live subresources ask the node at request time; no Talos node exists in a fuzz run, so
    // they answer 503 (unreachable) or 504 (too slow), as a proxied request to a dead backend does
    name: 'live subresource with no reachable Talos node (503/504)',
    matches: (req, res, s) =>
      (res.status === 503 || res.status === 504) &&
      /^adoptedservers\/|^(health|kubeconfig|upgrade)$/.test(req.verb) &&
      /talos|node|dial|connect|endpoint/i.test(s.message ?? ''),
  },
];

/**
 * Defects known and being fixed elsewhere may be excused here, each by name and only while the fix
 * is on its way; the report lists every excused answer. Empty: every unexpected 5xx fails the run.
 */
export const KNOWN_DEFECTS_ALLOW_LIST: {
  name: string;
  matches(req: FuzzRequest, res: FuzzResponse, s: StatusBody): boolean;
}[] = [];

export type Verdict = { ok: true; expected?: string; knownDefect?: string } | { ok: false; why: string };

export function judge(req: FuzzRequest, res: FuzzResponse): Verdict {
  if (res.timedOut) return { ok: false, why: 'no answer within the request deadline' };
  if (res.error?.startsWith(CLIENT_REFUSED)) return { ok: true };
  const s = res.status >= 500 ? statusBody(res) : {};
  const known = KNOWN_DEFECTS_ALLOW_LIST.find((e) => e.matches(req, res, s));
  if (known && (res.status >= 500 || res.error)) return { ok: true, knownDefect: known.name };
  // Node's HTTP/1.1 parser refuses a method it does not know with a 400 and closes the connection,
  // which a client still sending may see as a hang-up: the request never reached the server's code
  if (res.error && req.proto === 'h1' && !METHODS.includes(req.method)) return { ok: true };
  // HTTP/1.1 headers past Node's 16 KB limit: the parser's 431, after which it closes the connection
  if (req.proto === 'h1' && (res.status === 431 || (res.status === 0 && headerBytes(req) > OVERSIZED_HEADERS)))
    return { ok: true };
  // a header block past HTTP/2's advertised list size is refused by the protocol layer (HTTP/1.1
  // answers 431 for the same): a 70 KB path or label selector ends there
  // (and the connection is closed after it: other streams refused on it are collateral)
  if (
    req.proto === 'h2' &&
    /REFUSED_STREAM/.test(res.error ?? '') &&
    (headerBytes(req) > OVERSIZED_HEADERS || res.error!.includes(AFTER_OVERSIZED))
  )
    return { ok: true };
  if (res.error && !res.cut) return { ok: false, why: `${res.status ? `${res.status}, then ` : ''}${res.error}` };
  if (res.status < 500) return { ok: true };
  const expected = EXPECTED_5XX.find((e) => e.matches(req, res, s));
  if (expected) return { ok: true, expected: expected.name };
  return { ok: false, why: `${res.status}: ${s.message ?? res.body.toString('utf8').slice(0, 300)}` };
}
