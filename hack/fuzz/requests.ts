// The request generator: from the seed alone (never from the server's answers) it draws which
// resource, verb, name, parameters, headers and body each request has. Names come from small pools,
// so creates, updates and deletes keep meeting the same objects.
import { adoptedServerKind, kubernetesClusterKind } from '../../src/api/index.js';
import { basePath, resourceKey, type ServedResource } from './discovery.js';
import { breakText, jsonPatch, mergePatch, mutateObject, toJsonText, toYamlText } from './bodies.js';
import { exampleObject, exampleStatus, kindDefinition } from './examples.js';
import { hostileString, objectName, pathSegment } from './hostile.js';
import { encodeProtobuf } from './protobuf.js';
import { acceptHeader, CONTENT_TYPES, CURRENT_RV, oddContentType, queryParams } from './params.js';
import type { Rng } from './rng.js';
import {
  CLUSTER_NAMES,
  CREDENTIALS_SECRET,
  deepeningPatch,
  deleteOptionsBody,
  isWatch,
  namePool,
  OBJECT_NAMESPACES,
  talosconfigText,
  upgradeRequestBody,
  type GeneratedRequest,
  type Target,
} from './pieces.js';

type Obj = Record<string, any>;

export class RequestGenerator {
  /** the next step of the KubernetesCluster whose status grows deeper */
  private deepening = 0;

  constructor(
    private readonly rng: Rng,
    private readonly resources: ServedResource[],
    /** how long a watch is read before the fuzzer hangs up */
    private readonly watchMs: number,
  ) {}

  next(): GeneratedRequest {
    const rng = this.rng;
    const req = rng.weighted<() => GeneratedRequest>([
      [88, () => this.resourceRequest()],
      [1, () => this.deepeningRequest()],
      [7, () => this.nonResourceRequest()],
      [3, () => this.webhookRequest()],
      [2, () => this.oddMethodRequest()],
    ])();
    if (rng.chance(0.08) && req.proto === 'h1') req.chunked = true;
    // a stray watch parameter or the legacy /watch/ prefix makes any GET a stream
    if (req.streamMs === undefined && isWatch(req.method, req.path)) req.streamMs = this.watchMs;
    return req;
  }

  private proto(): 'h1' | 'h2' {
    return this.rng.chance(0.5) ? 'h1' : 'h2';
  }

  private object(r: ServedResource, name: string, namespace: string): Obj {
    const kind = kindDefinition(r.group, r.kind);
    if (!kind)
      return {
        apiVersion: r.group ? `${r.group}/${r.version}` : r.version,
        kind: r.kind,
        metadata: { name, namespace },
      };
    const obj = exampleObject(kind, name, namespace, this.rng, CLUSTER_NAMES) as Obj;
    if (r.resource === 'namespaces') obj.metadata.labels = { ...obj.metadata.labels, 'fuzz-ns': 'doomed' };
    if (r.resource === adoptedServerKind.plural && this.rng.chance(0.5))
      obj.spec.talos.talosconfigSecretRef = { name: CREDENTIALS_SECRET };
    if (r.resource === 'secrets' && name === CREDENTIALS_SECRET)
      obj.data = { talosconfig: Buffer.from(talosconfigText(this.rng)).toString('base64') };
    if (r.resource === 'secrets' && name.endsWith('-talos-secrets') && this.rng.chance(0.7)) {
      obj.data = { 'secrets.yaml': Buffer.from(talosconfigText(this.rng)).toString('base64') };
    }
    return obj;
  }

  private path(r: ServedResource, ns: string | undefined, name?: string, sub?: string): string {
    const rng = this.rng;
    let p = basePath(r);
    if (rng.chance(0.02)) p += '/watch';
    if (ns !== undefined) p += `/namespaces/${pathSegment(rng, ns)}`;
    p += `/${r.resource}`;
    if (name !== undefined) p += `/${pathSegment(rng, name)}`;
    if (sub !== undefined) p += `/${sub}`;
    return rng.weighted<string>([
      [40, p],
      [1, `${p}/`],
      [1, p.replace('/', '//')],
      [1, `${p}/extra/segments`],
      [1, p.replace(/\/[^/]+$/, '/%2E%2E')],
      [1, p.toUpperCase()],
    ]);
  }

  private headers(contentType?: string): Record<string, string> {
    const rng = this.rng;
    const h: Record<string, string> = {};
    if (contentType !== undefined) h['content-type'] = contentType;
    const accept = acceptHeader(rng);
    if (accept !== undefined) h.accept = accept;
    if (rng.chance(0.2))
      h['user-agent'] = rng.pick(['kubectl/v1.33.0 (linux/amd64)', 'fuzz/1.0', '', '/', 'x'.repeat(300), 'ünï/1']);
    if (rng.chance(0.03)) h['content-encoding'] = rng.pick(['gzip', 'br', 'identity']);
    if (rng.chance(0.03)) h['x-remote-user'] = 'mallory'; // front-proxy headers are not trusted from a client certificate
    return h;
  }

  private resourceRequest(): GeneratedRequest {
    const rng = this.rng;
    const r = rng.pick(this.resources);
    const ns = r.namespaced
      ? rng.chance(0.95)
        ? rng.pick(OBJECT_NAMESPACES)
        : rng.pick(['nope', 'UPPER', '', 'x'.repeat(64), '\uFFFD'])
      : undefined;
    const pathNs = r.namespaced && rng.chance(0.97) ? ns : undefined; // sometimes a namespaced kind is asked at cluster scope
    const name = objectName(rng, namePool(r));
    const target: Target = { resource: resourceKey(r), namespace: ns ?? '', name };
    const base = { proto: this.proto(), resource: resourceKey(r), dryRun: false, target } as const;
    const subs = [...r.subresources.keys()];
    const verb = rng.weighted<string>([
      [12, 'get'],
      [12, 'list'],
      [6, 'watch'],
      [16, 'create'],
      [10, 'update'],
      [17, 'patch'],
      [6, 'delete'],
      [1.5, 'deletecollection'],
      [5, 'status'],
      [subs.some((s) => s !== 'status') ? 3 : 0, 'subresource'],
    ]);
    const hostile = rng.chance(0.35);
    const withQuery = (path: string, v: string, fixed: Record<string, string> = {}) => {
      const params = queryParams(v, rng, fixed, hostile);
      return params.length > 0 ? `${path}?${params.join('&')}` : path;
    };
    const dry = (path: string) => /[?&]dryRun=All(&|$)/.test(path);
    switch (verb) {
      case 'get':
        return {
          ...base,
          verb,
          method: rng.chance(0.05) ? 'HEAD' : 'GET',
          path: withQuery(this.path(r, pathNs, name), 'get'),
          headers: this.headers(),
        };
      case 'list':
        return { ...base, verb, method: 'GET', path: withQuery(this.path(r, pathNs), 'list'), headers: this.headers() };
      case 'watch': {
        const fixed: Record<string, string> = {
          watch: 'true',
          timeoutSeconds: hostile ? rng.pick(['1', '0', '2', '-1', 'x']) : '1',
        };
        const path = withQuery(this.path(r, pathNs, rng.chance(0.1) ? name : undefined), 'watch', fixed);
        return { ...base, verb, method: 'GET', path, headers: this.headers(), streamMs: this.watchMs };
      }
      case 'create': {
        const body = this.objectBody(r, name, ns ?? '');
        const path = withQuery(this.path(r, pathNs, rng.chance(0.03) ? name : undefined), 'create');
        return {
          ...base,
          verb,
          method: 'POST',
          path,
          headers: this.headers(body.contentType),
          body: body.bytes,
          dryRun: dry(path),
        };
      }
      case 'update': {
        const body = this.objectBody(r, name, ns ?? '', true);
        const path = withQuery(this.path(r, pathNs, name), 'update');
        return {
          ...base,
          verb,
          method: 'PUT',
          path,
          headers: this.headers(body.contentType),
          body: body.bytes,
          dryRun: dry(path),
        };
      }
      case 'patch':
        return this.patchRequest(r, name, ns, pathNs, base, withQuery, dry, hostile);
      case 'delete': {
        const body = rng.chance(0.3) ? deleteOptionsBody(rng) : undefined;
        const path = withQuery(this.path(r, pathNs, name), 'delete');
        const dryBody = body?.toString().includes('"All"') ?? false;
        return {
          ...base,
          verb,
          method: 'DELETE',
          path,
          headers: this.headers(body ? rng.pick(['application/json', 'application/yaml', 'text/plain']) : undefined),
          body,
          dryRun: dry(path) || dryBody,
        };
      }
      case 'deletecollection': {
        // namespaces only by label (the object namespaces must survive); others also unselected
        const selector: Record<string, string> =
          r.resource === 'namespaces' || rng.chance(0.7)
            ? {
                labelSelector:
                  r.resource === 'namespaces'
                    ? 'fuzz-ns=doomed'
                    : rng.pick(['app=alpha', 'fuzz.example.com/tier=b', 'app']),
              }
            : {};
        const body = rng.chance(0.2) ? deleteOptionsBody(rng) : undefined;
        const path =
          r.resource === 'namespaces'
            ? `${basePath(r)}/namespaces?${queryParams('deletecollection', rng, selector, hostile)
                .filter((p) => !/^(labelSelector|fieldSelector)=/.test(p) || p.startsWith('labelSelector=fuzz-ns'))
                .join('&')}`
            : withQuery(this.path(r, pathNs), 'deletecollection', selector);
        return {
          ...base,
          verb,
          method: 'DELETE',
          path,
          headers: this.headers(body ? 'application/json' : undefined),
          body,
          dryRun: dry(path) || (body?.toString().includes('"All"') ?? false),
        };
      }
      case 'status':
        return this.statusRequest(r, name, ns, pathNs, base, withQuery, dry, hostile);
      default: {
        const sub = rng.pick(subs.filter((s) => s !== 'status'));
        const verbs = r.subresources.get(sub) ?? [];
        const method = rng.chance(0.8)
          ? verbs.includes('create')
            ? 'POST'
            : 'GET'
          : rng.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);
        const body =
          method === 'POST' || method === 'PUT'
            ? Buffer.from(toJsonText(rng.chance(0.7) ? upgradeRequestBody(rng) : { [hostileString(rng)]: 1 }, rng))
            : undefined;
        return {
          ...base,
          verb: `${sub}`,
          method,
          path: this.path(r, pathNs, name, sub),
          headers: this.headers(
            body ? rng.pick(['application/json', 'application/yaml', oddContentType(rng)]) : undefined,
          ),
          body,
        };
      }
    }
  }

  /**
   * The next step of a KubernetesCluster whose status grows deeper by one shallow patch at a time:
   * create it (a provider without admission checks), give it a status, then deepen it.
   */
  private deepeningRequest(): GeneratedRequest {
    const clusters = this.resources.find((r) => r.resource === kubernetesClusterKind.plural);
    if (!clusters) return this.resourceRequest();
    const step = this.deepening++ % 5;
    const target = { resource: resourceKey(clusters), namespace: 'fuzz-a', name: 'kc-deep' };
    const collection = `${basePath(clusters)}/namespaces/${target.namespace}/${kubernetesClusterKind.plural}`;
    const spec = {
      ...(exampleObject(kindDefinition(clusters.group, clusters.kind)!, target.name, target.namespace, this.rng)
        .spec as Obj),
    };
    spec.data = { ...spec.data, provider: 'aks' };
    const body =
      step === 0
        ? {
            apiVersion: `${clusters.group}/${clusters.version}`,
            kind: clusters.kind,
            metadata: { name: target.name },
            spec,
          }
        : deepeningPatch(step - 1);
    return {
      proto: this.proto(),
      verb: step === 0 ? 'create' : 'status:deepen',
      method: step === 0 ? 'POST' : 'PATCH',
      path: step === 0 ? collection : `${collection}/${target.name}/status`,
      headers: { 'content-type': step === 0 ? CONTENT_TYPES.json : CONTENT_TYPES.jsonPatch },
      body: Buffer.from(JSON.stringify(body)),
      dryRun: false,
      resource: target.resource,
      target,
    };
  }

  /** a full object body (create, update) in one of the encodings, mutated or broken now and then */
  private objectBody(
    r: ServedResource,
    name: string,
    ns: string,
    forUpdate = false,
  ): { bytes: Buffer; contentType: string | undefined } {
    const rng = this.rng;
    let obj = this.object(r, name, ns);
    if (forUpdate && rng.chance(0.7)) obj.metadata.resourceVersion = CURRENT_RV;
    if (rng.chance(0.35)) obj = mutateObject(obj, rng) as Obj;
    const protobufOk = r.group === '' && (r.resource === 'secrets' || r.resource === 'namespaces');
    const enc = rng.weighted<string>([
      [60, 'json'],
      [15, 'yaml'],
      [protobufOk ? 12 : 1, 'protobuf'],
      [8, 'broken'],
      [5, 'odd'],
    ]);
    switch (enc) {
      case 'json':
        return {
          bytes: Buffer.from(toJsonText(obj, rng)),
          contentType: rng.chance(0.95) ? CONTENT_TYPES.json : undefined,
        };
      case 'yaml':
        return {
          bytes: Buffer.from(toYamlText(obj, rng)),
          contentType: rng.pick([CONTENT_TYPES.yaml, 'application/x-yaml', 'text/yaml']),
        };
      case 'protobuf':
        return { bytes: encodeProtobuf(obj, rng), contentType: CONTENT_TYPES.protobuf };
      case 'broken': {
        const yaml = rng.chance(0.3);
        return {
          bytes: breakText(yaml ? toYamlText(obj, rng) : toJsonText(obj, rng), rng),
          contentType: yaml ? CONTENT_TYPES.yaml : CONTENT_TYPES.json,
        };
      }
      default:
        return { bytes: Buffer.from(toJsonText(obj, rng)), contentType: oddContentType(rng) };
    }
  }

  private patchRequest(
    r: ServedResource,
    name: string,
    ns: string | undefined,
    pathNs: string | undefined,
    base: Obj,
    withQuery: (p: string, v: string, f?: Record<string, string>) => string,
    dry: (p: string) => boolean,
    hostile: boolean,
  ): GeneratedRequest {
    const rng = this.rng;
    const obj = this.object(r, name, ns ?? '');
    const type = rng.weighted<string>([
      [5, 'json'],
      [5, 'merge'],
      [6, 'apply'],
      [1, 'strategic'],
      [1, 'odd'],
    ]);
    let text: string;
    let contentType: string;
    const fixed: Record<string, string> = {};
    switch (type) {
      case 'json':
        text = toJsonText(jsonPatch(obj, rng, hostile), rng);
        contentType = CONTENT_TYPES.jsonPatch;
        break;
      case 'merge':
        text = toJsonText(mergePatch(obj, rng, hostile), rng);
        contentType = CONTENT_TYPES.mergePatch;
        break;
      case 'apply': {
        const applied = rng.chance(0.4) ? mutateObject(obj, rng) : obj;
        text = rng.chance(0.5) ? toJsonText(applied, rng) : toYamlText(applied, rng);
        contentType = CONTENT_TYPES.apply;
        if (rng.chance(0.9)) fixed.fieldManager = rng.pick(['fuzz-apply', 'fuzz-other']);
        break;
      }
      case 'strategic':
        text = toJsonText(mergePatch(obj, rng), rng);
        contentType = CONTENT_TYPES.strategic;
        break;
      default:
        text = toJsonText(mergePatch(obj, rng), rng);
        contentType = oddContentType(rng);
    }
    const body = rng.chance(0.08) ? breakText(text, rng) : Buffer.from(text);
    const path = withQuery(this.path(r, pathNs, name), type === 'apply' ? 'apply' : 'patch', fixed);
    return {
      ...(base as GeneratedRequest),
      verb: `patch:${type}`,
      method: 'PATCH',
      path,
      headers: this.headers(contentType),
      body,
      dryRun: dry(path),
    };
  }

  private statusRequest(
    r: ServedResource,
    name: string,
    ns: string | undefined,
    pathNs: string | undefined,
    base: Obj,
    withQuery: (p: string, v: string, f?: Record<string, string>) => string,
    dry: (p: string) => boolean,
    hostile: boolean,
  ): GeneratedRequest {
    const rng = this.rng;
    const sub = rng.chance(0.9) ? 'status' : rng.pick(['finalize', 'bogus', 'status/extra']);
    const method = rng.weighted<string>([
      [3, 'GET'],
      [4, 'PUT'],
      [4, 'PATCH'],
      [1, 'POST'],
      [1, 'DELETE'],
    ]);
    const kind = kindDefinition(r.group, r.kind);
    const obj = this.object(r, name, ns ?? '');
    obj.status = kind ? exampleStatus(kind, rng) : {};
    if (method === 'PUT' && rng.chance(0.7)) obj.metadata.resourceVersion = CURRENT_RV;
    let body: Buffer | undefined;
    let contentType: string | undefined;
    if (method === 'PUT' || method === 'POST') {
      body = Buffer.from(toJsonText(rng.chance(0.4) ? mutateObject(obj, rng) : obj, rng));
      contentType = CONTENT_TYPES.json;
    } else if (method === 'PATCH') {
      const merge = rng.chance(0.6);
      body = Buffer.from(toJsonText(merge ? { status: obj.status } : jsonPatch(obj, rng, hostile), rng));
      contentType = merge ? CONTENT_TYPES.mergePatch : CONTENT_TYPES.jsonPatch;
    }
    const path = withQuery(
      this.path(r, pathNs, name, sub),
      method === 'GET' ? 'get' : method === 'PATCH' ? 'patch' : 'update',
    );
    return {
      ...(base as GeneratedRequest),
      verb: `status:${method.toLowerCase()}`,
      method,
      path,
      headers: this.headers(contentType),
      body,
      dryRun: dry(path),
    };
  }

  private nonResourceRequest(): GeneratedRequest {
    const rng = this.rng;
    const r = rng.pick(this.resources);
    const path = rng.pick([
      '/healthz',
      '/livez',
      '/readyz',
      '/readyz?verbose',
      '/healthz?verbose=1&exclude=storage',
      '/livez/ping',
      '/readyz/bogus',
      '/healthz/',
      '/version',
      '/api',
      '/apis',
      `/apis/${r.group || adoptedServerKind.group}`,
      basePath(r),
      '/openapi/v2',
      '/openapi/v3',
      `/openapi/v3${basePath(r)}`,
      `/openapi/v3${basePath(r)}?hash=${rng.pick(['0', 'abc', ''])}`,
      '/metrics',
      '/',
      '/apis/nope/v1',
      '/api/v2',
      `/apis/${adoptedServerKind.group}/v9`,
      '/%ZZ',
      '/..%2F..%2Fetc',
      `/${'x/'.repeat(rng.int(200))}`,
      '/openapi/v3/apis/../../x',
      '/api/v1/componentstatuses',
    ]);
    const method = rng.chance(0.9) ? 'GET' : rng.pick(['POST', 'PUT', 'DELETE', 'HEAD', 'PATCH']);
    return {
      proto: this.proto(),
      verb: 'nonresource',
      method,
      path,
      headers: this.headers(method === 'GET' || method === 'HEAD' ? undefined : 'application/json'),
      body: method === 'GET' || method === 'HEAD' ? undefined : Buffer.from('{}'),
      dryRun: false,
    };
  }

  private webhookRequest(): GeneratedRequest {
    const rng = this.rng;
    const r = rng.pick(this.resources.filter((x) => x.group !== '') ?? this.resources);
    const obj = mutateObject(this.object(r, rng.pick(namePool(r)), rng.pick(OBJECT_NAMESPACES)), rng);
    if (r.resource === kubernetesClusterKind.plural && rng.chance(0.4)) {
      (obj as Obj).spec = {
        ...((obj as Obj).spec ?? {}),
        talos: {
          endpoint: 'https://127.0.0.1:6443',
          strategicPatches: [
            rng.pick(['[[[[[[', '['.repeat(rng.pick([99, 101, 30_000])), 'machine: {install: {disk: /dev/sdz}}']),
          ],
        },
      };
    }
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'fuzz',
        kind: { group: r.group, version: r.version, kind: r.kind },
        resource: { group: r.group, version: r.version, resource: r.resource },
        operation: rng.pick(['CREATE', 'UPDATE', 'DELETE', 'CONNECT', 'bogus']),
        object: obj,
        oldObject: rng.chance(0.3) ? obj : null,
      },
    };
    const body = rng.chance(0.85)
      ? Buffer.from(toJsonText(rng.chance(0.9) ? review : { request: hostileString(rng) }, rng))
      : breakText(toJsonText(review, rng), rng);
    return {
      proto: this.proto(),
      verb: 'webhook',
      method: rng.chance(0.95) ? 'POST' : 'GET',
      path: rng.pick(['/webhooks/mutate', '/webhooks/validate']),
      headers: { 'content-type': 'application/json' },
      body,
      dryRun: false,
    };
  }

  private oddMethodRequest(): GeneratedRequest {
    const rng = this.rng;
    const r = rng.pick(this.resources);
    const method = rng.pick(['OPTIONS', 'TRACE', 'PROPFIND', 'FOO', 'LINK', 'PURGE']);
    return {
      proto: 'h1',
      verb: 'oddmethod',
      method,
      path: `${basePath(r)}/${r.resource}`,
      headers: {},
      dryRun: false,
      resource: resourceKey(r),
    };
  }
}
