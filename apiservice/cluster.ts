// Cluster mode: behind kube-apiserver's aggregator. Identity comes from the front proxy (its
// headers, behind its verified certificate), client certificates or TokenReview; every request is
// authorized by a SubjectAccessReview; namespaces, Secrets and Events are kube-apiserver's.
import type { Logger } from 'pino';
import { KubeAPI } from '../src/kubeapi/client.js';
import { kubeNamespaceChecker } from '../src/admission/namespacelifecycle.js';
import { kubeEventSink } from '../src/events/kubesink.js';
import { kubeSecretReader } from '../src/secrets/reader.js';
import { AuthenticationSource } from './auth/authconfig.js';
import {
  authenticationChain,
  bearerTokenAuthenticator,
  requestHeaderAuthenticator,
  x509Authenticator,
  type Authenticator,
} from './auth/authenticate.js';
import { delegatingAuthorizer, type Authorizer } from './auth/authorize.js';
import { kubeAccessReviewer, kubeTokenReviewer } from './auth/kube.js';
import type { ClusterModeOptions, ServerOptions } from './options.js';

export interface ClusterMode {
  api: KubeAPI;
  auth: AuthenticationSource;
  authenticate: Authenticator;
  authorize: Authorizer;
  checkNamespace: ReturnType<typeof kubeNamespaceChecker>;
  secrets: ReturnType<typeof kubeSecretReader>;
  events: ReturnType<typeof kubeEventSink>;
  stop(): void;
}

function load(file: string | undefined, c: ClusterModeOptions, what: string): KubeAPI {
  try {
    return file ? KubeAPI.load({ file }) : KubeAPI.load({ file: c.kubeconfig, inCluster: c.inCluster });
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}

export async function connectCluster(opts: ServerOptions, c: ClusterModeOptions, log: Logger): Promise<ClusterMode> {
  const api = load(undefined, c, c.inCluster ? '--in-cluster' : '--kubeconfig');
  const authnAPI = c.authenticationKubeconfig
    ? load(c.authenticationKubeconfig, c, '--authentication-kubeconfig')
    : api;
  const authzAPI = c.authorizationKubeconfig ? load(c.authorizationKubeconfig, c, '--authorization-kubeconfig') : api;
  const auth = await AuthenticationSource.start(
    { clientCAFile: opts.clientCaFile, ...c.requestHeader },
    log.child({ component: 'authentication' }),
    authnAPI,
  );
  const authenticate = authenticationChain(
    [
      requestHeaderAuthenticator(() => auth.requestHeader()),
      x509Authenticator(() => auth.clientCAs()),
      bearerTokenAuthenticator(kubeTokenReviewer(authnAPI, log.child({ component: 'authentication' }))),
    ],
    c.anonymousAuth,
  );
  return {
    api,
    auth,
    authenticate,
    authorize: delegatingAuthorizer(kubeAccessReviewer(authzAPI), c.alwaysAllowPaths),
    checkNamespace: kubeNamespaceChecker(api),
    secrets: kubeSecretReader(api),
    events: kubeEventSink(api),
    stop: () => auth.stop(),
  };
}
