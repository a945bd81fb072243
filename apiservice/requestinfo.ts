// URL + method -> request attributes, as kube-apiserver's RequestInfoFactory derives them; the
// same attributes feed authorization (SubjectAccessReview) in cluster mode.

export interface RequestInfo {
  isResourceRequest: boolean;
  path: string;
  verb: string;
  /** '' for the core group */
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** path segments after the resource/name/subresource (unused by our kinds) */
  rest: string[];
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

function truthy(v: string | null): boolean {
  return v !== null && v !== 'false' && v !== '0';
}

export function requestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const info: RequestInfo = {
    isResourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    rest: [],
  };
  let parts = path.split('/').filter((p) => p !== '');
  if (parts[0] === 'apis') {
    if (parts.length < 3) return info;
    info.apiGroup = parts[1];
    info.apiVersion = parts[2];
    parts = parts.slice(3);
  } else if (parts[0] === 'api') {
    if (parts.length < 2) return info;
    info.apiVersion = parts[1];
    parts = parts.slice(2);
  } else {
    return info;
  }
  if (parts.length === 0) return info; // /apis/G/V discovery is a non-resource request
  info.isResourceRequest = true;
  let legacyWatch = false;
  if (parts[0] === 'watch') {
    legacyWatch = true;
    parts = parts.slice(1);
  }
  if (parts[0] === 'namespaces' && parts.length > 1) {
    info.namespace = parts[1];
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2])) parts = parts.slice(2);
  }
  info.resource = parts[0] ?? '';
  if (info.resource === 'namespaces' && parts.length >= 2) {
    // /api/v1/namespaces/<name>[/status]: the namespace itself, cluster-scoped
    info.name = parts[1];
    info.namespace = '';
    info.subresource = parts[2] ?? '';
    info.rest = parts.slice(3);
  } else {
    info.name = parts[1] ?? '';
    info.subresource = parts[2] ?? '';
    info.rest = parts.slice(3);
  }
  const m = method.toUpperCase();
  const collection = info.name === '';
  switch (m) {
    case 'GET':
    case 'HEAD':
      info.verb = legacyWatch || truthy(query.get('watch')) ? 'watch' : collection ? 'list' : 'get';
      break;
    case 'POST':
      info.verb = 'create';
      break;
    case 'PUT':
      info.verb = 'update';
      break;
    case 'PATCH':
      info.verb = 'patch';
      break;
    case 'DELETE':
      info.verb = collection ? 'deletecollection' : 'delete';
      break;
    default:
      info.verb = m.toLowerCase();
  }
  return info;
}
