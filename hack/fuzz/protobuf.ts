// Kubernetes protobuf bodies ("k8s\0" + runtime.Unknown) for the core kinds that accept them
// (Namespace, Secret), written from a JSON object, sometimes with hostile fields: timestamps far out
// of range, wrong wire types, truncated or overlong varints, unknown fields, a content encoding.
import type { Rng } from './rng.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

const tag = (num: number, wire: number) => varint(num * 8 + wire);
const bytesField = (num: number, b: Buffer) => Buffer.concat([tag(num, 2), varint(b.length), b]);
const stringField = (num: number, s: string) => bytesField(num, Buffer.from(s, 'utf8'));
const varintField = (num: number, n: number | bigint) => Buffer.concat([tag(num, 0), varint(n)]);

function mapField(num: number, map: Record<string, unknown>, asBytes: boolean): Buffer {
  return Buffer.concat(
    Object.entries(map).map(([k, v]) => {
      const value = asBytes ? Buffer.from(String(v), 'base64') : Buffer.from(String(v), 'utf8');
      return bytesField(num, Buffer.concat([stringField(1, k), bytesField(2, value)]));
    }),
  );
}

function timeField(num: number, rng: Rng): Buffer {
  const seconds = rng.pick<number | bigint>([
    1_700_000_000,
    0,
    2n ** 40n,
    2n ** 62n,
    2n ** 64n - 1n,
    8_640_000_000_000,
    8_640_000_000_001,
  ]);
  return bytesField(num, Buffer.concat([varintField(1, seconds), varintField(2, rng.int(1_000_000_000))]));
}

function objectMeta(meta: Record<string, any>, rng: Rng): Buffer {
  const parts: Buffer[] = [];
  if (typeof meta.name === 'string') parts.push(stringField(1, meta.name));
  if (typeof meta.generateName === 'string') parts.push(stringField(2, meta.generateName));
  if (typeof meta.namespace === 'string') parts.push(stringField(3, meta.namespace));
  if (meta.labels && typeof meta.labels === 'object') parts.push(mapField(11, meta.labels, false));
  if (meta.annotations && typeof meta.annotations === 'object') parts.push(mapField(12, meta.annotations, false));
  if (Array.isArray(meta.finalizers)) for (const f of meta.finalizers) parts.push(stringField(14, String(f)));
  if (rng.chance(0.2)) parts.push(timeField(rng.pick([8, 9]), rng));
  if (rng.chance(0.1)) parts.push(varintField(7, rng.pick<number | bigint>([1, 2n ** 63n, 2n ** 64n - 1n])));
  if (rng.chance(0.1)) parts.push(varintField(10, -1));
  return Buffer.concat(parts);
}

/** the protobuf form of a Namespace or Secret object */
export function encodeProtobuf(obj: Record<string, any>, rng: Rng): Buffer {
  const fields: Buffer[] = [bytesField(1, objectMeta(obj.metadata ?? {}, rng))];
  if (obj.kind === 'Namespace' && Array.isArray(obj.spec?.finalizers)) {
    fields.push(bytesField(2, Buffer.concat(obj.spec.finalizers.map((f: unknown) => stringField(1, String(f))))));
  }
  if (obj.kind === 'Secret') {
    if (obj.data && typeof obj.data === 'object') fields.push(mapField(2, obj.data, true));
    if (typeof obj.type === 'string') fields.push(stringField(3, obj.type));
    if (obj.stringData && typeof obj.stringData === 'object') fields.push(mapField(4, obj.stringData, false));
    if (obj.immutable !== undefined) fields.push(varintField(5, obj.immutable ? 1 : 0));
  }
  if (rng.chance(0.15)) fields.push(varintField(rng.range(20, 2 ** 20), rng.int(1000))); // an unknown field
  if (rng.chance(0.1)) fields.push(stringField(1, 'metadata sent as a string')); // wrong content for a message
  const typeMeta = Buffer.concat([
    stringField(1, String(obj.apiVersion ?? '')),
    stringField(2, String(obj.kind ?? '')),
  ]);
  const envelope = [bytesField(1, typeMeta), bytesField(2, Buffer.concat(fields))];
  if (rng.chance(0.05)) envelope.push(stringField(3, 'gzip'));
  let body: Buffer = Buffer.concat([MAGIC, ...envelope]);
  if (rng.chance(0.2)) body = corruptBytes(body, rng);
  return body;
}

/** truncation, flipped bytes, an overlong varint, or no magic */
export function corruptBytes(b: Buffer, rng: Rng): Buffer {
  const copy: Buffer = Buffer.from(b);
  switch (rng.int(5)) {
    case 0:
      return copy.subarray(0, rng.int(copy.length));
    case 1:
      for (let i = rng.range(1, 4); i > 0; i--) copy[rng.int(copy.length)] = rng.int(256);
      return copy;
    case 2:
      return Buffer.concat([
        copy,
        Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      ]);
    case 3:
      return copy.subarray(4);
    default:
      return Buffer.concat([copy.subarray(0, 4), Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f])]);
  }
}
