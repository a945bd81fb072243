// Query parameters and headers with valid, borderline and hostile values. `__CURRENT_RV__` and
// `__CONTINUE__` are filled in when the request is sent (the object's last resourceVersion seen,
// the resource's last continue token), so the request sequence itself stays fixed by the seed.
import { continueToken, hostileString, q } from './hostile.js';
import type { Rng } from './rng.js';

export const CURRENT_RV = '__CURRENT_RV__';
export const CONTINUE = '__CONTINUE__';

type Values = (rng: Rng) => string;
/** the values a client means to send, and the ones that probe the rules */
type Param = { good: Values; bad: Values };

const oneOf =
  (...vs: string[]): Values =>
  (rng) =>
    rng.pick(vs);
const param = (good: string[], bad: string[]): Param => ({ good: oneOf(...good), bad: oneOf(...bad) });

const values: Record<string, Param> = {
  resourceVersion: {
    good: (rng) =>
      rng.weighted<string>([
        [6, CURRENT_RV],
        [3, '0'],
        [2, ''],
        [1, '1'],
      ]),
    bad: (rng) =>
      rng.weighted<string>([
        [4, rng.pick(['abc', '-1', '1.5', ' 1', '0x10', '01', '+5', '1e3', '\u0000'])],
        [2, rng.pick(['9007199254740993', '99999999999999999999', '18446744073709551616'])],
        // ahead of the store: kube-apiserver waits briefly and answers 504 ResourceVersionTooLarge
        [1, String(rng.range(100_000, 999_999))],
      ]),
  },
  resourceVersionMatch: param(['NotOlderThan', 'Exact'], ['exact', 'Bogus', 'NotOlderThan ', '\uFFFD', '']),
  limit: param(['1', '2', '5', '500', '0'], ['-1', 'abc', '1.5', '1e3', '9999999999999999999', '', ' 2', '0x1']),
  continue: {
    good: (rng) => (rng.chance(0.8) ? CONTINUE : ''),
    bad: (rng) => (rng.chance(0.8) ? continueToken(rng) : hostileString(rng)),
  },
  timeoutSeconds: param(['1', '2'], ['0', '-1', 'abc', '1e9', '0.5', 'Infinity', 'NaN', '', '99999999999999999999']),
  labelSelector: {
    good: oneOf(
      'app=alpha',
      'fuzz.example.com/tier in (a,b)',
      '!app',
      'app,fuzz.example.com/tier=a',
      'app notin (x)',
      'app!=x',
      'app==x',
      'fuzz=a',
    ),
    bad: (rng) =>
      rng.chance(0.8)
        ? rng.pick([
            'app=',
            '=x',
            'app in (',
            'app in ()',
            ',,,',
            '!!!',
            'a==b==c',
            'a b',
            'app>1',
            'app<x',
            'x'.repeat(10_000),
            'a/b/c=x',
            'é=1',
            '\u0000=1',
            'app in (x',
            'app=x,',
          ])
        : hostileString(rng),
  },
  fieldSelector: {
    good: oneOf(
      'metadata.name=x',
      'metadata.namespace!=fuzz-a',
      'metadata.name==as-1',
      'spec.talos.nodeType=worker',
      'status.phase=Active',
      'type=Opaque',
      'involvedObject.kind=AdoptedServer',
      'spec.data.clusterId=kc-0-id',
    ),
    bad: (rng) =>
      rng.chance(0.8)
        ? rng.pick([
            'bogus.field=x',
            'metadata.name',
            '=',
            'metadata.name in (a)',
            'metadata.name=a,metadata.name=b',
            'metadata.labels=x',
            'x'.repeat(5000),
            'metadata.name=\uFFFD',
            'metadata.name!',
          ])
        : hostileString(rng),
  },
  dryRun: param(['All'], ['all', '', 'None', 'All,All', 'true']),
  fieldManager: param(['fuzz', 'kubectl', 'fuzz-apply'], ['', 'x'.repeat(129), 'ünï', '\u0007bell', ' ', 'a\tb']),
  fieldValidation: param(['Strict', 'Warn', 'Ignore'], ['strict', '', 'Bogus', 'Warn,Strict']),
  force: param(['true', 'false'], ['1', 'yes', '', 'TRUE', 'tru']),
  propagationPolicy: param(['Orphan', 'Background', 'Foreground'], ['orphan', '', 'Cascade', '\uFFFD']),
  gracePeriodSeconds: param(['0', '30'], ['-1', 'abc', '1e99', '9007199254740993', '1.5', '']),
  orphanDependents: param(['true', 'false'], ['x', '']),
  watch: param(['true', '1'], ['0', 'false', 'yes', '']),
  allowWatchBookmarks: param(['true', 'false'], ['x', '', '2']),
  sendInitialEvents: param(['true', 'false'], ['x', '', 'True']),
  pretty: param(['true'], ['1', 'x']),
  includeObject: param(['None', 'Metadata', 'Object'], ['bogus', '']),
  timeout: param(['5m0s', '1s'], ['x', '-1s']),
};

/** which parameters each verb means to take; any of the others is added now and then */
const forVerb: Record<string, string[]> = {
  get: ['resourceVersion', 'pretty'],
  list: [
    'resourceVersion',
    'resourceVersionMatch',
    'limit',
    'continue',
    'labelSelector',
    'fieldSelector',
    'timeoutSeconds',
    'sendInitialEvents',
    'includeObject',
  ],
  watch: [
    'resourceVersion',
    'resourceVersionMatch',
    'timeoutSeconds',
    'labelSelector',
    'fieldSelector',
    'allowWatchBookmarks',
    'sendInitialEvents',
    'watch',
    'timeout',
  ],
  create: ['dryRun', 'fieldManager', 'fieldValidation', 'pretty'],
  update: ['dryRun', 'fieldManager', 'fieldValidation'],
  patch: ['dryRun', 'fieldManager', 'fieldValidation'],
  apply: ['dryRun', 'fieldManager', 'fieldValidation', 'force'],
  delete: ['dryRun', 'propagationPolicy', 'gracePeriodSeconds', 'orphanDependents'],
  deletecollection: [
    'dryRun',
    'propagationPolicy',
    'gracePeriodSeconds',
    'labelSelector',
    'fieldSelector',
    'resourceVersion',
    'limit',
  ],
};

/**
 * `name=value` pairs for a request of `verb`. A clean request sends what a client would (the
 * parameters its verb takes, valid values that go together); a hostile one mixes in bad values,
 * stray parameters and broken escapes.
 */
export function queryParams(verb: string, rng: Rng, fixed: Record<string, string>, hostile: boolean): string[] {
  const out: string[] = [];
  const add = (k: string, v: string) => out.push(`${k}=${q(v)}`);
  for (const [k, v] of Object.entries(fixed)) add(k, v);
  const taken = forVerb[verb] ?? [];
  for (const k of taken) {
    if (k in fixed || !rng.chance(hostile ? 0.35 : 0.25)) continue;
    if (!hostile && ['sendInitialEvents', 'resourceVersionMatch', 'continue'].includes(k)) continue; // they go together, below
    add(k, hostile && rng.chance(0.5) ? values[k]!.bad(rng) : values[k]!.good(rng));
  }
  if (!hostile && verb === 'watch' && rng.chance(0.2)) {
    // a watch-list, as client-go starts informers
    add('sendInitialEvents', 'true');
    add('resourceVersionMatch', 'NotOlderThan');
    if (!('allowWatchBookmarks' in fixed)) add('allowWatchBookmarks', 'true');
  }
  if (!hostile && verb === 'list' && rng.chance(0.25)) {
    add('limit', rng.pick(['1', '2']));
    if (rng.chance(0.6)) add('continue', CONTINUE);
  }
  if (!hostile && verb === 'list' && rng.chance(0.1)) {
    add('resourceVersion', CURRENT_RV);
    add('resourceVersionMatch', rng.pick(['NotOlderThan', 'Exact']));
  }
  if (hostile) {
    const names = Object.keys(values);
    if (rng.chance(0.3)) {
      const k = rng.pick(names);
      add(k, rng.chance(0.5) ? values[k]!.bad(rng) : values[k]!.good(rng));
    }
    if (rng.chance(0.1)) add(rng.pick(names), values[rng.pick(names)]!.bad(rng)); // under another parameter's name
    if (rng.chance(0.1))
      out.push(
        rng.pick([
          '%',
          '=',
          '&&',
          'a=%ZZ',
          'dryRun',
          'limit=%00',
          `${hostileString(rng).replace(/[^\x21-\x7e]/g, '')}=1`,
        ]),
      );
  }
  return out;
}

export const CONTENT_TYPES = {
  json: 'application/json',
  yaml: 'application/yaml',
  jsonPatch: 'application/json-patch+json',
  mergePatch: 'application/merge-patch+json',
  apply: 'application/apply-patch+yaml',
  strategic: 'application/strategic-merge-patch+json',
  protobuf: 'application/vnd.kubernetes.protobuf',
};

/** a Content-Type that does not fit, or is not one */
export function oddContentType(rng: Rng): string {
  return rng.pick([
    'text/plain',
    'application/x-yaml',
    'text/yaml',
    '*/*',
    'foo',
    ';;;',
    '',
    'application/json; charset=utf-16',
    'application/json;charset="x',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/json-patch+json; charset=utf-8',
    'APPLICATION/JSON',
    'application/vnd.kubernetes.protobuf;stream=watch',
    ...Object.values(CONTENT_TYPES),
  ]);
}

export function acceptHeader(rng: Rng): string | undefined {
  return rng.weighted<string | undefined>([
    [10, undefined],
    [4, 'application/json'],
    [1, 'application/yaml'],
    [1, 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json'],
    [1, 'application/json;as=Table;v=v1beta1;g=meta.k8s.io'],
    [1, 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io'],
    [1, 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io'],
    [1, 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json'],
    [1, 'application/vnd.kubernetes.protobuf'],
    [1, 'application/vnd.kubernetes.protobuf, */*'],
    [
      1,
      rng.pick([
        'text/html',
        '*/*;q=abc',
        ';',
        'application/json;as=Bogus;v=v1;g=meta.k8s.io',
        'application/json;q=0',
        'x/y;z',
        'application/*',
      ]),
    ],
  ]);
}
