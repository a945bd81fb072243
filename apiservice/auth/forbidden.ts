// kube-apiserver's 403 for a request its authorizer refused, worded as kube words it.
import { forbidden, qualifiedResource, type StatusError } from '../../src/machinery/errors.js';
import type { UserInfo } from '../../src/machinery/registry/context.js';
import type { RequestInfo } from '../requestinfo.js';

export function forbiddenFor(user: UserInfo, info: RequestInfo, reason?: string): StatusError {
  const why = reason ? `: ${reason}` : '';
  if (!info.isResourceRequest) {
    return forbidden(`forbidden: User "${user.name}" cannot ${info.verb} path "${info.path}"${why}`);
  }
  const r = { group: info.apiGroup, resource: info.resource };
  const what = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  const where = info.namespace ? `in the namespace "${info.namespace}"` : 'at the cluster scope';
  const prefix = info.name
    ? `${qualifiedResource(r)} "${info.name}" is forbidden`
    : `${qualifiedResource(r)} is forbidden`;
  return forbidden(
    `${prefix}: User "${user.name}" cannot ${info.verb} resource "${what}" in API group "${info.apiGroup}" ${where}${why}`,
    {
      name: info.name || undefined,
      group: info.apiGroup,
      kind: info.resource,
    },
  );
}
