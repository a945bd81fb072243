// HTTP plumbing shared by handlers: bounded body reading, JSON/YAML responses, Warning headers and
// the one place where a StatusError becomes an HTTP response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringify as toYaml, parse as parseYaml } from 'yaml';
import { badRequest, internalError, StatusError, tooLarge, unsupportedMediaType, type Status } from '../src/machinery/errors.js';
import { parseJsonStrict } from '../src/machinery/json.js';
import { MAX_YAML_DEPTH, yamlTooDeep } from '../src/machinery/yamldepth.js';
import type { DecodedBody } from '../src/machinery/registry/prepare.js';
import { parseContentType } from '../src/machinery/negotiate.js';
import type { KindDefinition } from '../src/machinery/kind.js';
import { decodeKubeProtobuf, protobufMediaType } from '../src/machinery/protobuf.js';

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > maxBytes) {
    req.resume(); // drain so the connection can answer
    throw tooLarge(`Request entity too large: limit is ${maxBytes}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      req.resume();
      throw tooLarge(`Request entity too large: limit is ${maxBytes}`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
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
  if (mediaType === 'application/yaml' || mediaType === 'application/x-yaml' || mediaType === 'text/yaml') return 'yaml';
  throw unsupportedMediaType(
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
  );
}

export function decodeText(text: string, format: BodyFormat): DecodedBody {
  if (format === 'json') return parseJsonStrict(text);
  // measured first: the yaml library recurses per level, and too deep a document aborts the process
  if (yamlTooDeep(text)) throw badRequest(`error decoding YAML body: nesting exceeds the maximum depth of ${MAX_YAML_DEPTH}`);
  try {
    const docs = parseYaml(text, { uniqueKeys: true, maxAliasCount: 100, prettyErrors: false });
    return { value: docs, duplicates: [] };
  } catch (e) {
    throw badRequest(`error decoding YAML body: ${(e as Error).message.split('\n')[0]}`);
  }
}

export function setWarnings(res: ServerResponse, warnings: string[]): void {
  if (warnings.length === 0 || res.headersSent) return;
  const unique = [...new Set(warnings)];
  res.setHeader(
    'Warning',
    unique.map((w) => `299 - "${w.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`),
  );
}

export function sendJSON(res: ServerResponse, code: number, body: unknown, yaml = false): void {
  const text = yaml ? toYaml(body) : JSON.stringify(body);
  res.statusCode = code;
  res.setHeader('Content-Type', yaml ? 'application/yaml' : 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** a list from pre-encoded items, written in chunks of about 256 KiB rather than as one giant buffer */
export function sendJSONList(res: ServerResponse, apiVersion: string, kind: string, metadata: Record<string, unknown>, items: Buffer[][]): void {
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
      res.write(Buffer.concat(pieces, size));
      pieces = [];
      size = 0;
    }
  }
  pieces.push(LIST_END);
  res.end(Buffer.concat(pieces, size + LIST_END.length));
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
