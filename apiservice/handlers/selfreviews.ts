// POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews (and selfsubjectrulesreviews) in
// standalone mode: decode (JSON, YAML, or protobuf as kubectl sends it), let the answer fill
// status, return it with 201. Like kube-apiserver, the collection path serves POST only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { methodNotAllowedWithMessage, notFoundResource } from '../../src/machinery/errors.js';
import type { KindDefinition } from '../../src/machinery/kind.js';
import type { UserInfo } from '../../src/machinery/registry/context.js';
import { decodeBody } from '../../src/machinery/registry/prepare.js';
import { checkReview, type SelfReviewAnswer } from '../auth/selfreview.js';
import { decodeObjectBody, readBody, sendJSON, setWarnings } from '../http.js';
import type { RequestInfo } from '../requestinfo.js';
import { requestContext } from './resources.js';

export interface SelfReviewDeps {
  /** the review kinds served here and their answers (standalone mode only) */
  selfReviews?: Map<KindDefinition, SelfReviewAnswer>;
  maxRequestBytes: number;
}

/** the review kind a resource request names, when this server answers it */
export function selfReviewKind(deps: SelfReviewDeps, info: RequestInfo): KindDefinition | undefined {
  for (const kind of deps.selfReviews?.keys() ?? []) {
    if (kind.group === info.apiGroup && kind.version === info.apiVersion && kind.plural === info.resource) return kind;
  }
  return undefined;
}

export async function serveSelfReview(
  deps: SelfReviewDeps,
  kind: KindDefinition,
  info: RequestInfo,
  user: UserInfo,
  req: IncomingMessage,
  res: ServerResponse,
  q: URLSearchParams,
): Promise<void> {
  // cluster-scoped, a collection only: any other path does not exist
  if (info.namespace || info.name || info.subresource) throw notFoundResource();
  if (info.verb !== 'create')
    throw methodNotAllowedWithMessage('the server does not allow this method on the requested resource');
  const ctx = requestContext(user, q, true, req);
  const raw = await readBody(req, deps.maxRequestBytes);
  const review = decodeBody(kind, decodeObjectBody(raw, req.headers['content-type'], kind), ctx);
  checkReview(kind, review);
  const answered = deps.selfReviews!.get(kind)!(review, user);
  setWarnings(res, ctx.warnings);
  sendJSON(res, 201, answered);
}
