// Which CAs and headers to trust for authentication: from the flags where given, otherwise from
// kube-apiserver's ConfigMap kube-system/extension-apiserver-authentication, followed with a
// watch because kube-apiserver rotates its content (a renewed front-proxy or client CA).
import type { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { KubeAPI } from '../../src/kubeapi/client.js';
import type { RequestHeaderConfig } from './authenticate.js';
import { parseCABundle } from './x509.js';

export interface AuthenticationFlags {
  clientCAFile?: string;
  requestheaderClientCAFile?: string;
  requestheaderAllowedNames?: string[];
  requestheaderUsernameHeaders?: string[];
  requestheaderUidHeaders?: string[];
  requestheaderGroupHeaders?: string[];
  requestheaderExtraHeadersPrefix?: string[];
}

const CONFIGMAP = '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication';
const CONFIGMAP_WATCH =
  '/api/v1/namespaces/kube-system/configmaps?watch=true&fieldSelector=metadata.name%3Dextension-apiserver-authentication';
const RETRY_MS = 2_000;

interface Trust {
  clientCA: { pem: string; certs: X509Certificate[] };
  requestHeader?: RequestHeaderConfig & { pem: string };
}

function jsonList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
  } catch {
    return undefined;
  }
}

function trustFrom(flags: AuthenticationFlags, data: Record<string, string>, log: Logger): Trust {
  const clientPem = flags.clientCAFile ? readFileSync(flags.clientCAFile, 'utf8') : (data['client-ca-file'] ?? '');
  const headerPem = flags.requestheaderClientCAFile
    ? readFileSync(flags.requestheaderClientCAFile, 'utf8')
    : (data['requestheader-client-ca-file'] ?? '');
  const parse = (pem: string, what: string) => {
    if (!pem.trim()) return [];
    try {
      return parseCABundle(pem, what);
    } catch (err) {
      log.error({ err }, `${what} is unusable; certificates it signed are not accepted`);
      return [];
    }
  };
  const trust: Trust = { clientCA: { pem: clientPem, certs: parse(clientPem, 'the client CA') } };
  const roots = parse(headerPem, 'the requestheader client CA');
  if (roots.length > 0) {
    trust.requestHeader = {
      pem: headerPem,
      roots,
      allowedNames: flags.requestheaderAllowedNames ?? jsonList(data['requestheader-allowed-names']) ?? [],
      // the defaults of Kubernetes' extension API servers when neither flag nor ConfigMap says
      usernameHeaders: flags.requestheaderUsernameHeaders ??
        jsonList(data['requestheader-username-headers']) ?? ['X-Remote-User'],
      uidHeaders: flags.requestheaderUidHeaders ?? jsonList(data['requestheader-uid-headers']) ?? ['X-Remote-Uid'],
      groupHeaders: flags.requestheaderGroupHeaders ??
        jsonList(data['requestheader-group-headers']) ?? ['X-Remote-Group'],
      extraPrefixes: flags.requestheaderExtraHeadersPrefix ??
        jsonList(data['requestheader-extra-headers-prefix']) ?? ['X-Remote-Extra-'],
    };
  }
  return trust;
}

export class AuthenticationSource {
  private trust: Trust;
  private readonly listeners: (() => void)[] = [];
  private readonly abort = new AbortController();

  private constructor(
    private readonly flags: AuthenticationFlags,
    private readonly log: Logger,
    private readonly api?: KubeAPI,
  ) {
    this.trust = trustFrom(flags, {}, log);
  }

  /** flags only (no api), or flags over the ConfigMap, which is then followed until stop() */
  static async start(flags: AuthenticationFlags, log: Logger, api?: KubeAPI): Promise<AuthenticationSource> {
    const src = new AuthenticationSource(flags, log, api);
    if (api) {
      await src
        .refresh()
        .catch((err: unknown) => log.warn({ err }, 'extension-apiserver-authentication not readable yet; retrying'));
      void src.follow();
    }
    return src;
  }

  requestHeader(): RequestHeaderConfig | undefined {
    return this.trust.requestHeader;
  }

  clientCAs(): X509Certificate[] {
    return this.trust.clientCA.certs;
  }

  /** every CA a client certificate may come from, for the TLS listener's certificate request */
  tlsCAs(): string {
    return [this.trust.clientCA.pem, this.trust.requestHeader?.pem ?? ''].filter((p) => p.trim()).join('\n');
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  stop(): void {
    this.abort.abort();
  }

  private apply(data: Record<string, string>): void {
    const next = trustFrom(this.flags, data, this.log);
    const changed =
      next.clientCA.pem !== this.trust.clientCA.pem ||
      JSON.stringify(next.requestHeader) !== JSON.stringify(this.trust.requestHeader);
    this.trust = next;
    if (changed) {
      this.log.info(
        { requestHeader: !!next.requestHeader, clientCAs: next.clientCA.certs.length },
        'authentication configuration changed',
      );
      for (const cb of this.listeners) cb();
    }
  }

  private async refresh(): Promise<string> {
    const reply = await this.api!.call('GET', CONFIGMAP);
    if (reply.code === 404) {
      this.apply({});
      return '';
    }
    if (reply.code !== 200) throw new Error(`reading ${CONFIGMAP}: HTTP ${reply.code}`);
    const cm = JSON.parse(reply.body) as { data?: Record<string, string>; metadata?: { resourceVersion?: string } };
    this.apply(cm.data ?? {});
    return cm.metadata?.resourceVersion ?? '';
  }

  /** read, then watch from that version; whenever the watch ends, read again */
  private async follow(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        const rv = await this.refresh();
        await this.api!.watch(
          `${CONFIGMAP_WATCH}${rv ? `&resourceVersion=${rv}` : ''}`,
          (ev) => {
            if (ev.type === 'ADDED' || ev.type === 'MODIFIED')
              this.apply((ev.object.data ?? {}) as Record<string, string>);
            if (ev.type === 'DELETED') this.apply({});
            return false;
          },
          signal,
        );
      } catch (err) {
        if (!signal.aborted) this.log.warn({ err }, 'following extension-apiserver-authentication failed; retrying');
      }
      if (!signal.aborted) await new Promise((r) => setTimeout(r, RETRY_MS).unref());
    }
  }
}
