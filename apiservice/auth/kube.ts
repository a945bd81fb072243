// TokenReview and SubjectAccessReview against kube-apiserver: delegated authentication and
// authorization, as every aggregated API server does them.
import type { Logger } from 'pino';
import { serviceUnavailable } from '../../src/machinery/errors.js';
import type { UserInfo } from '../../src/machinery/registry/context.js';
import { statusOf, type KubeAPI } from '../../src/kubeapi/client.js';
import type { AccessReviewer, Decision } from './authorize.js';
import type { TokenReviewer } from './authenticate.js';

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  error?: string;
}

/** a token kube-apiserver does not vouch for, or cannot be asked about, authenticates nobody */
export function kubeTokenReviewer(api: KubeAPI, log: Logger): TokenReviewer {
  return async (token) => {
    let reply;
    try {
      reply = await api.call('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      });
    } catch (err) {
      log.warn({ err }, 'TokenReview failed');
      return undefined;
    }
    if (reply.code !== 201 && reply.code !== 200) {
      log.warn({ code: reply.code, ...statusOf(reply) }, 'TokenReview refused');
      return undefined;
    }
    const status = (JSON.parse(reply.body) as { status?: TokenReviewStatus }).status;
    if (!status?.authenticated || !status.user?.username) return undefined;
    const u = status.user;
    const user: UserInfo = { name: u.username!, groups: u.groups ?? [] };
    if (u.uid) user.uid = u.uid;
    if (u.extra && Object.keys(u.extra).length) user.extra = u.extra;
    return user;
  };
}

/** allowed -> allow; denied or no opinion -> deny; kube-apiserver unreachable -> 503 (not cached) */
export function kubeAccessReviewer(api: KubeAPI): AccessReviewer {
  return async (r) => {
    const spec: Record<string, unknown> = {
      user: r.user.name,
      groups: r.user.groups,
      ...(r.user.uid ? { uid: r.user.uid } : {}),
      ...(r.user.extra ? { extra: r.user.extra } : {}),
      ...(r.resourceAttributes ? { resourceAttributes: r.resourceAttributes } : {}),
      ...(r.nonResourceAttributes ? { nonResourceAttributes: r.nonResourceAttributes } : {}),
    };
    let reply;
    try {
      reply = await api.call('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec },
      });
    } catch (e) {
      throw serviceUnavailable(`authorization: kube-apiserver could not be asked: ${(e as Error).message}`);
    }
    if (reply.code !== 201 && reply.code !== 200) {
      throw serviceUnavailable(
        `authorization: kube-apiserver refused the SubjectAccessReview: ${statusOf(reply).message}`,
      );
    }
    const status =
      (JSON.parse(reply.body) as { status?: { allowed?: boolean; denied?: boolean; reason?: string } }).status ?? {};
    const decision: Decision = { allowed: status.allowed === true && status.denied !== true };
    if (status.reason) decision.reason = status.reason;
    return decision;
  };
}
