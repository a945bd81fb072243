// Request bodies: valid objects mutated a little (a field removed, retyped, made hostile, an unknown
// field, odd metadata, deep nesting), encoded as JSON, YAML or protobuf, and sometimes broken on the
// way (truncated, invalid UTF-8, NULs, duplicate keys). Patches of every type are built from the
// same objects.
import { stringify as toYaml } from 'yaml';
import { hostileNumber, hostileString } from './hostile.js';
import type { Rng } from './rng.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** numbers spliced into JSON text as written (precision and range are the server's problem) */
const RAW_NUMBER = '\u0001raw-number:';

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** every JSON pointer into `value`, containers and leaves */
export function pointers(value: Json, prefix = '', out: string[] = []): string[] {
  if (Array.isArray(value))
    value.forEach((v, i) => {
      out.push(`${prefix}/${i}`);
      pointers(v, `${prefix}/${i}`, out);
    });
  else if (isObj(value)) {
    for (const [k, v] of Object.entries(value)) {
      const p = `${prefix}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      out.push(p);
      pointers(v, p, out);
    }
  }
  return out;
}

function containers(value: Json, out: (Obj | Json[])[] = []): (Obj | Json[])[] {
  if (Array.isArray(value) || isObj(value)) {
    out.push(value);
    for (const v of Array.isArray(value) ? value : Object.values(value)) containers(v, out);
  }
  return out;
}

export function nested(depth: number, rng: Rng): Json {
  let v: Json = rng.pick<Json>(['leaf', 1, null]);
  for (let i = 0; i < depth; i++) v = rng.chance(0.5) ? [v] : { d: v };
  return v;
}

export function hostileValue(rng: Rng): Json {
  return rng.weighted<() => Json>([
    [4, () => hostileString(rng)],
    [
      3,
      () => {
        const n = hostileNumber(rng);
        return typeof n === 'number' ? n : `${RAW_NUMBER}${n}`;
      },
    ],
    [1, () => rng.chance(0.5)],
    [1, () => null],
    [1, () => []],
    [1, () => ({})],
    [1, () => [hostileString(rng), { [hostileString(rng)]: hostileString(rng) }]],
    [1, () => nested(rng.pick([20, 99, 100, 101, 150]), rng)],
  ])();
}

function mutateMetadata(meta: Obj, rng: Rng): void {
  rng.pick<() => void>([
    () => {
      meta.name = hostileString(rng);
    },
    () => {
      delete meta.name;
      meta.generateName = rng.pick(['gen-', 'GEN-', '', 'x'.repeat(300)]);
    },
    () => {
      meta.namespace = rng.pick(['other', 'default', '', 'UPPER']);
    },
    () => {
      meta.labels = {
        [rng.pick(['ok', 'a/b/c', 'x'.repeat(64), '', 'é', 'example.com/key'])]: rng.pick([
          'v',
          'x'.repeat(64),
          '-bad',
          '',
          '\uFFFD',
        ]),
      };
    },
    () => {
      meta.annotations = { big: 'x'.repeat(rng.pick([100, 262_144, 300_000])), [hostileString(rng)]: 'v' };
    },
    () => {
      meta.finalizers = rng.pick<Json>([
        ['example.com/hold'],
        ['kubernetes'],
        ['no-slash'],
        [''],
        ['a', 'a'],
        'not-a-list',
      ]);
    },
    () => {
      meta.ownerReferences = rng.pick<Json>([
        [{ apiVersion: 'v1', kind: 'Secret', name: 'x', uid: '00000000-0000-0000-0000-000000000001' }],
        [{}],
        [{ uid: 1 }],
        {},
      ]);
    },
    () => {
      meta.resourceVersion = rng.pick(['1', '0', 'abc', '-1', '99999999', '9007199254740993', '']);
    },
    () => {
      meta.uid = hostileString(rng);
    },
    () => {
      meta.creationTimestamp = rng.pick(['not a time', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '']);
    },
    () => {
      meta.deletionTimestamp = '2024-01-01T00:00:00Z';
    },
    () => {
      meta.managedFields = rng.pick<Json>([
        [{}],
        [{ manager: 1 }],
        [{ manager: 'm', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: nested(rng.pick([5, 99, 120]), rng) }],
        'x',
      ]);
    },
    () => {
      meta.generation = hostileValue(rng);
    },
    () => {
      meta[hostileString(rng)] = hostileValue(rng);
    },
  ])();
}

/** a copy of `obj` with 0 to 3 mutations */
export function mutateObject(obj: Obj, rng: Rng): Obj {
  const out = structuredClone(obj);
  for (
    let i = rng.weighted([
      [3, 0],
      [4, 1],
      [2, 2],
      [1, 3],
    ] as const);
    i > 0;
    i--
  ) {
    const spots = containers(out);
    const at = rng.pick(spots);
    rng.weighted<() => void>([
      [
        3,
        () => {
          if (isObj(out.metadata)) mutateMetadata(out.metadata, rng);
        },
      ],
      [
        3,
        () => {
          // a field gets a hostile value
          if (Array.isArray(at)) at[rng.int(at.length + 1)] = hostileValue(rng);
          else {
            const keys = Object.keys(at);
            if (keys.length > 0) at[rng.pick(keys)] = hostileValue(rng);
          }
        },
      ],
      [
        2,
        () => {
          // a field is removed
          if (Array.isArray(at)) at.splice(rng.int(at.length), 1);
          else {
            const keys = Object.keys(at);
            if (keys.length > 0) delete at[rng.pick(keys)];
          }
        },
      ],
      [
        2,
        () => {
          if (isObj(at)) at[rng.chance(0.5) ? 'unknownField' : hostileString(rng)] = hostileValue(rng);
        },
      ],
      [
        1,
        () => {
          out.apiVersion = rng.pick(['v1', 'metal.sidero.dev/v1alpha1', 'vitistack.io/v1', '', 'x/y/z']);
        },
      ],
      [
        1,
        () => {
          out.kind = rng.pick(['Secret', 'Namespace', 'KubernetesCluster', '', 'List', 'Status']);
        },
      ],
      [
        1,
        () => {
          delete out.apiVersion;
          delete out.kind;
        },
      ],
      [
        1,
        () => {
          if (isObj(at)) at.deep = nested(rng.pick([50, 99, 100, 101]), rng);
        },
      ],
    ])();
  }
  return out;
}

/** JSON text, with raw number markers spliced in and sometimes non-ASCII written as \u escapes */
export function toJsonText(value: unknown, rng: Rng): string {
  let text = JSON.stringify(value, null, rng.chance(0.1) ? 2 : undefined) ?? 'null';
  text = text.replace(/"\\u0001raw-number:([^"]*)"/g, '$1');
  if (rng.chance(0.1))
    text = text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return text;
}

/** YAML text; sometimes with tags, anchors and merge keys, or several documents */
export function toYamlText(value: unknown, rng: Rng): string {
  let text = toYaml(value).replace(/"\\x01raw-number:([^"]*)"/g, '$1');
  const extra = rng.weighted<string>([
    [10, ''],
    [1, 'binaryField: !!binary aGVsbG8=\n'],
    [1, 'anchored: &a {x: 1}\nmerged: {<<: *a, y: 2}\n'],
    [1, 'aliased: *nowhere\n'],
    [1, 'odd: !custom-tag value\n'],
    [1, 'ts: 2001-12-14t21:59:43.10-05:00\nset: !!set {a, b}\n'],
  ]);
  text += extra;
  // a binary scalar where the schema declares a string (the top-level one above is pruned unseen)
  if (rng.chance(0.05)) text = text.replace(/^(\s+[A-Za-z]+): [a-z][\w.-]*$/m, '$1: !!binary aGVsbG8=');
  if (rng.chance(0.05)) text += '---\nsecond: document\n';
  return text;
}

/** broken renderings of a body */
export function breakText(text: string, rng: Rng): Buffer {
  const b = Buffer.from(text, 'utf8');
  return rng.pick<() => Buffer>([
    () => b.subarray(0, rng.int(b.length)),
    () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]), // BOM
    () =>
      Buffer.concat([b.subarray(0, b.length >> 1), Buffer.from([0xff, 0xfe, 0xc0, 0x80]), b.subarray(b.length >> 1)]), // invalid UTF-8
    () => Buffer.concat([b, Buffer.from([0])]),
    () => Buffer.from(text.replace(/,/, ',"dup":1,"dup":2,')),
    () => Buffer.from(text.replace(/}\s*$/, ',}')),
    () => Buffer.from(text.replace(/"/g, "'")),
    () => Buffer.from(`${text}${text}`),
    () =>
      Buffer.from(
        rng.pick([
          '',
          ' ',
          'null',
          '[]',
          '"str"',
          '0',
          'NaN',
          '{',
          '}',
          '{"a":}',
          '{"a" 1}',
          '{"a":1}{"b":2}',
          '\u0000',
        ]),
      ),
    () => Buffer.from('['.repeat(rng.pick([99, 101, 5000, 200_000]))),
    () => Buffer.from('{"a":'.repeat(rng.pick([99, 101, 10_000])) + '1' + '}'.repeat(rng.pick([0, 99, 101]))),
    () => Buffer.from('- '.repeat(rng.pick([99, 101, 30_000])) + 'x'),
    () => Buffer.from(`{"k":"${'\\ud800'.repeat(rng.range(1, 5))}","n":"\\u0000"}`),
    () => (rng.chance(0.2) ? Buffer.alloc(3 * 1024 * 1024 + 1, ' ') : b), // past --max-request-bytes: 413
  ])();
}

// ---- patches ------------------------------------------------------------------------------

/** a patch a client means: annotations or labels set whole (add replaces a member), a name tested */
function plainJsonPatch(obj: Obj, rng: Rng): Json {
  const ops: Json[] = [];
  if (rng.chance(0.3))
    ops.push({ op: 'test', path: '/metadata/name', value: (obj.metadata as Obj | undefined)?.name ?? '' });
  ops.push({
    op: 'add',
    path: rng.pick(['/metadata/annotations', '/metadata/labels']),
    value: { fuzz: rng.pick(['a', 'b']), 'example.com/n': String(rng.int(10)) },
  });
  if (rng.chance(0.3) && isObj(obj.spec)) ops.push({ op: 'replace', path: '/spec', value: obj.spec });
  return ops;
}

/** an RFC 6902 patch against `obj`; now and then one whose copies double a subtree until refused (413) */
export function jsonPatch(obj: Obj, rng: Rng, hostile = true): Json {
  if (!hostile && rng.chance(0.7)) return plainJsonPatch(obj, rng);
  if (rng.chance(0.02)) {
    const grow = Array.from({ length: rng.range(10, 40) }, () => ({
      op: 'copy',
      from: '/metadata/annotations/z',
      path: '/metadata/annotations/z/-',
    }));
    return [{ op: 'add', path: '/metadata/annotations/z', value: ['x'.repeat(1024)] }, ...grow];
  }
  const paths = pointers(obj);
  const path = () =>
    rng.weighted<string>([
      [6, paths.length > 0 ? rng.pick(paths) : '/metadata'],
      [2, `${rng.pick(paths.length > 0 ? paths : ['/metadata'])}/${rng.pick(['-', '0', 'new', '01', '~2', '~1x'])}`],
      [
        1,
        rng.pick([
          '',
          '/',
          'metadata',
          '/metadata/name',
          '/metadata/resourceVersion',
          '/apiVersion',
          '/__proto__/polluted',
          '/constructor/prototype/x',
          '/metadata/labels/a~1b',
          '/status',
          '/spec/topology/workers/-',
        ]),
      ],
    ]);
  const ops: Json[] = [];
  for (let n = rng.range(1, 5); n > 0; n--) {
    const op = rng.pick(['add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus', '']);
    const o: Obj = { op, path: path() };
    if (['add', 'replace', 'test'].includes(op) || rng.chance(0.1))
      o.value = rng.chance(0.6) ? rng.pick<Json>(['v', 1, { a: 'b' }, ['x'], null]) : hostileValue(rng);
    if (['move', 'copy'].includes(op) || rng.chance(0.05)) o.from = path();
    if (rng.chance(0.05)) delete o.path;
    ops.push(o);
  }
  return rng.chance(0.03) ? { op: 'add', path: '/x', value: 1 } : ops; // a patch must be a list
}

/** an RFC 7386 merge patch: some fields changed, some removed with null */
export function mergePatch(obj: Obj, rng: Rng, hostile = true): Json {
  if (!hostile && rng.chance(0.7)) {
    const patch: Obj = {
      metadata: {
        labels: { fuzz: rng.pick(['a', 'b', null]) as Json },
        annotations: { 'example.com/n': String(rng.int(10)) },
      },
    };
    if (rng.chance(0.4) && obj.spec !== undefined) patch.spec = obj.spec;
    if (rng.chance(0.4) && obj.data !== undefined) patch.data = obj.data;
    return patch;
  }
  const mutated = mutateObject(obj, rng);
  const patch: Obj = {};
  for (const k of Object.keys(mutated)) if (rng.chance(0.5)) patch[k] = mutated[k]!;
  if (rng.chance(0.3)) patch.metadata = { labels: { fuzz: rng.pick(['a', 'b', null]) as Json } };
  if (rng.chance(0.2)) patch[rng.pick(['spec', 'metadata', 'status', 'data'])] = null;
  return rng.chance(0.05) ? rng.pick<Json>([[], 'str', 1, null]) : patch;
}
