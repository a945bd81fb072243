// Subresources beyond /status that are answered by code rather than by the store (a node's live
// health, a streamed kubeconfig, an upgrade started by POST). The HTTP edge finds the handler by
// resource and name, reads the parent object first (so a missing parent is the usual 404) and
// turns the reply into a response; the handler itself sees no HTTP.
import type { CustomSubresource } from '../discovery.js';
import type { KubeObject } from '../kind.js';
import type { DecodedBody } from './prepare.js';
import type { UserInfo } from './context.js';

export interface SubresourceCall {
  /** the parent object as stored now */
  parent: KubeObject;
  user: UserInfo;
  query: URLSearchParams;
  /** the decoded request body of a POST */
  body?: DecodedBody;
  /** aborted when the client goes away, so a slow node is not asked for nobody */
  signal: AbortSignal;
}

export type SubresourceReply =
  | { type: 'object'; code: number; object: unknown }
  | { type: 'text'; code: number; contentType: string; text: string };

export interface SubresourceHandler {
  /** group of the parent resource */
  group: string;
  declaration: CustomSubresource;
  serve(call: SubresourceCall): Promise<SubresourceReply>;
}

/** the HTTP method that serves each RBAC verb of a subresource */
export const SUBRESOURCE_METHODS: Record<string, string> = {
  get: 'GET',
  create: 'POST',
  update: 'PUT',
  patch: 'PATCH',
  delete: 'DELETE',
};
