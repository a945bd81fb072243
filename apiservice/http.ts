// HTTP plumbing shared by handlers: bounded body reading, JSON/YAML responses, Warning headers and
// the one place where a StatusError becomes an HTTP response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringify as toYaml } from 'yaml';
import {
  badRequest,
  internalError,
  requestTimeout,
  StatusError,
  tooLarge,
  unsupportedMediaType,
  type Status,
} from '../src/machinery/errors.js';
import { parseJsonStrict } from '../src/machinery/json.js';
import { parseYamlAsJson } from '../src/machinery/yaml.js';
import type { DecodedBody } from '../src/machinery/registry/prepare.js';
import { parseContentType } from '../src/machinery/negotiate.js';
import type { KindDefinition } from '../src/machinery/kind.js';
import { decodeKubeProtobuf, protobufMediaType } from '../src/machinery/protobuf.js';

/** when each request's body must have arrived (ms since the epoch), set at the edge for every request */
const bodyDeadlines = new WeakMap<IncomingMessage, number>();

/**
 * Bounds how long `req`'s body may take to arrive, counted from now (its headers): readBody answers
 * 408 past it, so a client trickling a body cannot hold a request (and what it will write) open.
 */
export function limitBodyTime(req: IncomingMessage, ms: number): void {
  bodyDeadlines.set(req, Date.now() + ms);
}

export function requestBodyTimeout(): StatusError {
  return requestTimeout(
    'the request body was not received in time (--request-timeout); the request was not carried out',
  );
}

export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > maxBytes) {
    req.resume(); // drain so the connection can answer
    return Promise.reject(tooLarge(`Request entity too large: limit is ${maxBytes}`));
  }
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  if (req.destroyed) return Promise.reject(badRequest('the connection closed before the request body was complete'));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const settle = (err: StatusError | undefined, body?: Buffer) => {
      if (timer) clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (err) reject(err);
      else resolve(body!);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        settle(tooLarge(`Request entity too large: limit is ${maxBytes}`));
        req.resume(); // drain so the connection can answer
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle(undefined, Buffer.concat(chunks));
    // the client went away mid-body: nobody will read the answer, but it is theirs, not a server fault
    const onError = (e: Error) => settle(badRequest(`the request body could not be read: ${e.message}`));
    const onClose = () => settle(badRequest('the connection closed before the request body was complete'));
    const deadline = bodyDeadlines.get(req);
    if (deadline !== undefined)
      timer = setTimeout(() => settle(requestBodyTimeout()), Math.max(0, deadline - Date.now()));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export type BodyFormat = 'json' | 'yaml';

/** decodes an object body (create/update) from JSON or YAML, or protobuf for kinds that declare it */
export function decodeObjectBody(raw: Buffer, contentType: string | undefined, kind?: KindDefinition): DecodedBody {
  if (kind?.protobuf && contentType && parseContentType(contentType).mediaType === protobufMediaType) {
    const message = kind.protobuf;
    return { value: decodeKubeProtobuf(raw, () => message), duplicates: [] };
  }
  const format = objectBodyFormat(contentType);
  const text = raw.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty: an object is required');
  return decodeText(text, format);
}

export function objectBodyFormat(contentType: string | undefined): BodyFormat {
  if (!contentType) return 'json';
  const { mediaType } = parseContentType(contentType);
  if (mediaType === 'application/json' || mediaType === '*/*') return 'json';
  if (mediaType === 'application/yaml' || mediaType === 'application/x-yaml' || mediaType === 'text/yaml')
    return 'yaml';
  throw unsupportedMediaType(
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
  );
}

export function decodeText(text: string, format: BodyFormat): DecodedBody {
  if (format === 'json') return parseJsonStrict(text);
  return { value: parseYamlAsJson(text), duplicates: [] };
}

/** kube-apiserver's per-warning limit (longer texts are truncated with "...") */
const MAX_WARNING_CHARS = 1024;

/**
 * One `299 - "text"` Warning header value. Texts echo client input (unknown field names), so they
 * are made safe to send whatever they hold: control characters become spaces, quotes and
 * backslashes are escaped as in any quoted-string, long texts are cut, and every character outside
 * printable ASCII is written as a \uXXXX escape. (kube-apiserver sends such text as raw UTF-8;
 * Node refuses header characters above U+00FF and re-encodes the rest inconsistently between
 * HTTP/1.1 and HTTP/2, so ASCII is the one form that reaches every client the same.)
 */
export function warningHeaderValue(text: string): string {
  let clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  if (clean.length > MAX_WARNING_CHARS) clean = `${clean.slice(0, MAX_WARNING_CHARS)}...`;
  const quoted = clean.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  return `299 - "${quoted.replace(/[^\u0020-\u007e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

export function setWarnings(res: ServerResponse, warnings: string[]): void {
  if (warnings.length === 0 || res.headersSent) return;
  const unique = [...new Set(warnings)];
  res.setHeader('Warning', unique.map(warningHeaderValue));
}

export function sendJSON(res: ServerResponse, code: number, body: unknown, yaml = false): void {
  const text = yaml ? toYaml(body) : JSON.stringify(body);
  res.statusCode = code;
  res.setHeader('Content-Type', yaml ? 'application/yaml' : 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * A list from pre-encoded items, written in chunks of about 256 KiB and no faster than the client
 * reads: a chunk handed to the socket is encrypted into native TLS buffers at once, so without
 * waiting for 'drain' every list in flight would sit whole in memory the heap does not see (200
 * lists of 5,000 objects reached gigabytes).
 */
export async function sendJSONList(
  res: ServerResponse,
  apiVersion: string,
  kind: string,
  metadata: Record<string, unknown>,
  items: Buffer[][],
): Promise<void> {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json');
  const head = `{"apiVersion":${JSON.stringify(apiVersion)},"kind":${JSON.stringify(kind)},"metadata":${JSON.stringify(metadata)},"items":[`;
  let pieces: Buffer[] = [Buffer.from(head)];
  let size = pieces[0].length;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) {
      pieces.push(COMMA);
      size += 1;
    }
    for (const p of items[i]) {
      pieces.push(p);
      size += p.length;
    }
    if (size > 256 * 1024) {
      const more = res.write(Buffer.concat(pieces, size));
      pieces = [];
      size = 0;
      if (!more && !(await drained(res))) return;
    }
  }
  pieces.push(LIST_END);
  res.end(Buffer.concat(pieces, size + LIST_END.length));
}

/** kube-apiserver's request timeout: a client that reads nothing of a list for this long is cut off */
const LIST_WRITE_STALL_MS = 60_000;

/**
 * true once the response can take more; false when it closed first (the client went away) or the
 * client read nothing for LIST_WRITE_STALL_MS (then it is destroyed: a reader that stalls must not
 * keep its place among the large lists)
 */
function drained(res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (more: boolean) => () => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(more);
    };
    const onDrain = done(true);
    const onClose = done(false);
    const timer = setTimeout(() => {
      onClose();
      res.destroy();
    }, LIST_WRITE_STALL_MS);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

const COMMA = Buffer.from(',');
const LIST_END = Buffer.from(']}');

export function sendText(res: ServerResponse, code: number, text: string): void {
  res.statusCode = code;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(text);
}

/** every failure leaves as a Status; anything that is not a StatusError is our bug: 500 */
export function sendError(res: ServerResponse, err: unknown, log?: (e: unknown) => void): void {
  let se: StatusError;
  if (err instanceof StatusError) {
    se = err;
  } else {
    log?.(err);
    se = internalError('an unexpected error occurred; see the server log');
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status: Status = se.toStatus();
  if (se.details?.retryAfterSeconds) res.setHeader('Retry-After', String(se.details.retryAfterSeconds));
  sendJSON(res, se.code, status);
}
