// The protobuf body decoder, on bodies built here byte by byte the way client-go encodes them.
import { describe, expect, it } from 'vitest';
import { StatusError } from '../../src/machinery/errors.js';
import { decodeKubeProtobuf, type ProtoMessage } from '../../src/machinery/protobuf.js';
import { namespaceKind, secretKind } from '../../src/api/index.js';

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push(n % 0x80 | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}
const bytes = (num: number, b: Buffer | string) => {
  const buf = typeof b === 'string' ? Buffer.from(b) : b;
  return Buffer.from([...varint(num * 8 + 2), ...varint(buf.length), ...buf]);
};
const int = (num: number, v: number) => Buffer.from([...varint(num * 8), ...varint(v)]);
const msg = (...parts: Buffer[]) => Buffer.concat(parts);
const entry = (num: number, k: string, v: string | Buffer) => bytes(num, msg(bytes(1, k), bytes(2, v)));

function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from('k8s\0', 'binary'),
    bytes(1, msg(bytes(1, apiVersion), bytes(2, kind))),
    bytes(2, raw),
    bytes(3, ''),
    bytes(4, ''),
  ]);
}

const meta = (...parts: Buffer[]) => bytes(1, msg(...parts));

describe('decodeKubeProtobuf', () => {
  it('decodes a Secret as kubectl create secret generic sends it', () => {
    const raw = msg(
      meta(bytes(1, 's1'), bytes(2, ''), bytes(3, 'ns'), bytes(8, msg()), entry(11, 'app', 'x'), int(7, 0)),
      entry(2, 'k', Buffer.from([0xff, 0x00, 0x41])),
      entry(2, 'user', 'admin'),
      bytes(3, 'Opaque'),
    );
    const obj = decodeKubeProtobuf(envelope('v1', 'Secret', raw), () => secretKind.protobuf);
    expect(obj).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's1', namespace: 'ns', labels: { app: 'x' } },
      data: { k: Buffer.from([0xff, 0x00, 0x41]).toString('base64'), user: 'YWRtaW4=' },
      type: 'Opaque',
    });
  });

  it('decodes a Namespace, its finalizers, timestamps and unknown fields skipped', () => {
    const time = bytes(9, msg(int(1, 1735689600), int(2, 5)));
    const raw = msg(
      meta(bytes(1, 'team-a'), time, bytes(14, 'a/b'), bytes(14, 'c/d'), int(99, 3)),
      bytes(2, msg(bytes(1, 'kubernetes'))),
      bytes(3, msg(bytes(1, 'Active'))),
    );
    const obj = decodeKubeProtobuf(envelope('v1', 'Namespace', raw), () => namespaceKind.protobuf);
    expect(obj).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team-a', deletionTimestamp: '2025-01-01T00:00:00Z', finalizers: ['a/b', 'c/d'] },
      spec: { finalizers: ['kubernetes'] },
    });
  });

  it('passes the envelope type to the caller and answers 415 for kinds it cannot read', () => {
    const seen: string[] = [];
    const none = (av: string, k: string): ProtoMessage | undefined => {
      seen.push(`${av}/${k}`);
      return undefined;
    };
    const err = (() => {
      try {
        decodeKubeProtobuf(envelope('apps/v1', 'Deployment', msg()), none);
      } catch (e) {
        return e;
      }
    })();
    expect(seen).toEqual(['apps/v1/Deployment']);
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).code).toBe(415);
  });

  it.each([
    ['no magic prefix', Buffer.from('{"kind":"Secret"}')],
    ['truncated length', Buffer.concat([Buffer.from('k8s\0', 'binary'), Buffer.from([0x12, 0x10, 0x01])])],
    ['truncated varint', Buffer.concat([Buffer.from('k8s\0', 'binary'), Buffer.from([0x08, 0xff])])],
    ['group wire type', Buffer.concat([Buffer.from('k8s\0', 'binary'), Buffer.from([0x0b])])],
    ['wrong wire type for a string', envelope('v1', 'Secret', msg(meta(int(1, 5))))],
    ['compressed content', Buffer.concat([envelope('v1', 'Secret', msg()), bytes(3, 'gzip')])],
  ])('malformed body (%s) is a 400', (_what, body) => {
    expect(() => decodeKubeProtobuf(body, () => secretKind.protobuf)).toThrowError(
      expect.objectContaining({ code: 400, reason: 'BadRequest' }) as unknown as Error,
    );
  });
});
