// Decoding of `application/vnd.kubernetes.protobuf` request bodies. kubectl >= 1.33 sends built-in
// core kinds (`kubectl create namespace`, `kubectl create secret`) as protobuf with no JSON
// fallback, so the standalone core kinds must read it. Only decoding is needed: responses stay
// JSON, which every client accepts through its Accept alternatives.
// Wire format: https://protobuf.dev/programming-guides/encoding/ ; envelope: the 4-byte magic
// "k8s\0" followed by a runtime.Unknown message {typeMeta, raw, contentEncoding, contentType}.
import { badRequest, unsupportedMediaType } from './errors.js';

export const protobufMediaType = 'application/vnd.kubernetes.protobuf';

type Scalar = 'string' | 'bytes' | 'bool' | 'int';

/** One field of a message; `bytes` become base64 strings as in Kubernetes JSON. */
export type ProtoField =
  | { name: string; type: Scalar | 'time'; repeated?: boolean }
  | { name: string; type: 'message'; message: ProtoMessage; repeated?: boolean }
  | { name: string; type: 'map'; value: 'string' | 'bytes' };

/** field number -> field; fields not listed are skipped, as protobuf does with unknown fields */
export type ProtoMessage = Record<number, ProtoField>;

const OwnerReference: ProtoMessage = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};

/** metav1.ObjectMeta, without selfLink and managedFields (which a client never needs to send) */
export const ObjectMetaProto: ProtoMessage = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  8: { name: 'creationTimestamp', type: 'time' },
  9: { name: 'deletionTimestamp', type: 'time' },
  10: { name: 'deletionGracePeriodSeconds', type: 'int' },
  11: { name: 'labels', type: 'map', value: 'string' },
  12: { name: 'annotations', type: 'map', value: 'string' },
  13: { name: 'ownerReferences', type: 'message', message: OwnerReference, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

const TypeMeta: ProtoMessage = { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } };

interface WireField {
  num: number;
  wire: number;
  /** varint value, or the bytes of a length-delimited field */
  varint?: number;
  bytes?: Buffer;
}

function malformed(why: string): never {
  throw badRequest(`unable to decode protobuf body: ${why}`);
}

function* fields(buf: Buffer): Generator<WireField> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) malformed('truncated varint');
      const b = buf[pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    return malformed('varint too long');
  };
  while (pos < buf.length) {
    const tag = varint();
    const num = Math.floor(tag / 8);
    const wire = tag % 8;
    if (num === 0) malformed('field number 0');
    switch (wire) {
      case 0:
        yield { num, wire, varint: varint() };
        break;
      case 1:
      case 5: {
        const size = wire === 1 ? 8 : 4;
        if (pos + size > buf.length) malformed('truncated fixed-size field');
        pos += size;
        break;
      }
      case 2: {
        const len = varint();
        if (pos + len > buf.length) malformed('truncated length-delimited field');
        yield { num, wire, bytes: buf.subarray(pos, pos + len) };
        pos += len;
        break;
      }
      default:
        malformed(`unsupported wire type ${wire}`);
    }
  }
}

function need(f: WireField, wire: number, name: string): void {
  if (f.wire !== wire) malformed(`field ${name} has wire type ${f.wire}, expected ${wire}`);
}

function scalar(f: WireField, type: Scalar | 'time', name: string): unknown {
  switch (type) {
    case 'string':
      need(f, 2, name);
      return f.bytes!.toString('utf8');
    case 'bytes':
      need(f, 2, name);
      return f.bytes!.toString('base64');
    case 'bool':
      need(f, 0, name);
      return f.varint !== 0;
    case 'int':
      need(f, 0, name);
      // two's complement negatives arrive as 10-byte varints; the values we read are never negative
      return f.varint!;
    case 'time': {
      need(f, 2, name);
      let seconds = 0;
      for (const t of fields(f.bytes!)) if (t.num === 1 && t.wire === 0) seconds = t.varint!;
      if (seconds === 0) return undefined; // the zero Time is JSON null
      // Date covers +-8.64e12 s; Go's Time goes further, but no RFC 3339 text (4-digit year) does
      const date = new Date(seconds * 1000);
      if (Number.isNaN(date.getTime()) || date.getUTCFullYear() > 9999)
        malformed(`field ${name} holds a time out of range (${seconds} s)`);
      return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
  }
}

/** decodes one message to its Kubernetes JSON form; zero scalars and empty messages are omitted */
export function decodeMessage(buf: Buffer, desc: ProtoMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    const d = desc[f.num];
    if (!d) continue;
    let value: unknown;
    if (d.type === 'map') {
      need(f, 2, d.name);
      let key = '';
      let val: unknown = '';
      for (const e of fields(f.bytes!)) {
        if (e.num === 1) key = String(scalar(e, 'string', `${d.name} key`));
        else if (e.num === 2) val = scalar(e, d.value, `${d.name}[${key}]`);
      }
      const map = (out[d.name] ?? {}) as Record<string, unknown>;
      map[key] = val;
      out[d.name] = map;
      continue;
    }
    if (d.type === 'message') {
      need(f, 2, d.name);
      value = decodeMessage(f.bytes!, d.message);
    } else {
      value = scalar(f, d.type, d.name);
    }
    if ('repeated' in d && d.repeated) {
      out[d.name] = [...((out[d.name] as unknown[] | undefined) ?? []), value];
    } else if (value === undefined || value === '' || value === 0 || value === false) {
      delete out[d.name];
    } else if (
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      Object.keys(value).length === 0
    ) {
      delete out[d.name];
    } else {
      out[d.name] = value;
    }
  }
  return out;
}

/**
 * Decodes a Kubernetes protobuf body. `messageFor` gives the message of the object's top-level
 * fields (metadata is field 1 for every kind) for the apiVersion/kind in the envelope, or
 * undefined when this server cannot read that kind as protobuf (then 415, as for any other
 * unsupported body type).
 */
export function decodeKubeProtobuf(
  raw: Buffer,
  messageFor: (apiVersion: string, kind: string) => ProtoMessage | undefined,
): Record<string, unknown> {
  if (raw.length < MAGIC.length || !raw.subarray(0, MAGIC.length).equals(MAGIC)) {
    malformed('the body does not start with the Kubernetes protobuf prefix');
  }
  let typeMeta: Record<string, unknown> = {};
  let inner: Buffer | undefined;
  let encoding = '';
  for (const f of fields(raw.subarray(MAGIC.length))) {
    if (f.num === 1) {
      need(f, 2, 'typeMeta');
      typeMeta = decodeMessage(f.bytes!, TypeMeta);
    } else if (f.num === 2) {
      need(f, 2, 'raw');
      inner = f.bytes!;
    } else if (f.num === 3) {
      need(f, 2, 'contentEncoding');
      encoding = f.bytes!.toString('utf8');
    }
  }
  if (encoding !== '') malformed(`unsupported contentEncoding "${encoding}"`);
  const apiVersion = typeof typeMeta.apiVersion === 'string' ? typeMeta.apiVersion : '';
  const kind = typeof typeMeta.kind === 'string' ? typeMeta.kind : '';
  const desc = messageFor(apiVersion, kind);
  if (!desc) {
    throw unsupportedMediaType(
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
    );
  }
  const obj = decodeMessage(inner ?? Buffer.alloc(0), {
    1: { name: 'metadata', type: 'message', message: ObjectMetaProto },
    ...desc,
  });
  return { apiVersion, kind, ...obj, metadata: obj.metadata ?? {} };
}
