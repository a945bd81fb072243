// Impersonation (`kubectl --as`, `--as-group`, `--as-uid`), as kube-apiserver's filter does it: each
// impersonated user, group, uid and extra value is a separate `impersonate` request the
// authenticated user must be allowed (users/groups/serviceaccounts in the core group, uids and
// userextras/<key> in authentication.k8s.io); the request then runs as the impersonated user. In
// cluster mode kube-apiserver resolves impersonation before the aggregator proxies the request,
// so these headers only reach us from clients that connect directly; they are judged the same way.
import type { IncomingMessage } from 'node:http';
import { badRequest } from '../../src/machinery/errors.js';
import type { UserInfo } from '../../src/machinery/registry/context.js';
import type { RequestInfo } from '../requestinfo.js';
import type { Authorizer } from './authorize.js';
import { forbiddenFor } from './forbidden.js';

const EXTRA_PREFIX = 'impersonate-extra-';
const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/;

interface Requested {
  user?: string;
  uid?: string;
  groups: string[];
  extra: Record<string, string[]>;
}

function requested(req: IncomingMessage): Requested | undefined {
  const raw = req.rawHeaders;
  const out: Requested = { groups: [], extra: {} };
  let any = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (!name.startsWith('impersonate-')) continue;
    any = true;
    if (name === 'impersonate-user') out.user = value;
    else if (name === 'impersonate-uid') out.uid = value;
    else if (name === 'impersonate-group') out.groups.push(value);
    else if (name.startsWith(EXTRA_PREFIX)) {
      let key = name.slice(EXTRA_PREFIX.length);
      try {
        key = decodeURIComponent(key);
      } catch {
        throw badRequest(`the impersonation header ${raw[i]} is not valid percent-encoding`);
      }
      (out.extra[key] ??= []).push(value);
    } else throw badRequest(`unknown impersonation header ${raw[i]}`);
  }
  return any ? out : undefined;
}

const check = (resource: string, name: string, group = '', namespace = '', subresource = ''): RequestInfo => ({
  isResourceRequest: true,
  path: '',
  verb: 'impersonate',
  apiGroup: group,
  apiVersion: 'v1',
  namespace,
  resource,
  subresource,
  name,
  rest: [],
});

/** who the request runs as: `user`, or whom it impersonates once every part of that is allowed */
export async function impersonatedUser(req: IncomingMessage, user: UserInfo, authorize: Authorizer): Promise<UserInfo> {
  const r = requested(req);
  if (!r) return user;
  if (r.user === undefined || r.user === '')
    throw badRequest('impersonating groups, a uid or extra values requires impersonating a user (Impersonate-User)');
  const sa = SERVICE_ACCOUNT.exec(r.user);
  const checks = [
    sa ? check('serviceaccounts', sa[2]!, '', sa[1]!) : check('users', r.user),
    ...r.groups.map((g) => check('groups', g)),
    ...(r.uid !== undefined ? [check('uids', r.uid, 'authentication.k8s.io')] : []),
    ...Object.entries(r.extra).flatMap(([key, values]) =>
      values.map((v) => check('userextras', v, 'authentication.k8s.io', '', key)),
    ),
  ];
  const none = new URLSearchParams();
  for (const info of checks) {
    const decision = await authorize(user, info, none);
    if (!decision.allowed) throw forbiddenFor(user, info, decision.reason);
  }
  const groups = [...r.groups];
  if (sa) groups.push('system:serviceaccounts', `system:serviceaccounts:${sa[1]}`);
  if (r.user !== 'system:anonymous' && !groups.includes('system:authenticated')) groups.push('system:authenticated');
  return {
    name: r.user,
    ...(r.uid !== undefined ? { uid: r.uid } : {}),
    groups,
    ...(Object.keys(r.extra).length ? { extra: r.extra } : {}),
  };
}
