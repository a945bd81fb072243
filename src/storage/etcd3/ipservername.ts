// TLS to etcd endpoints given by IP address (`https://10.0.0.5:2379`, as kube-apiserver's
// --etcd-servers usually are). grpc-js sends the target's host as the TLS server name, and for an IP
// address RFC 6066 forbids that: Node prints DEP0123 ("Setting the TLS ServerName to an IP address")
// outside our JSON log. etcd3 builds its channel credentials itself, so each channel is made here
// (grpc-js's `channelFactoryOverride` client option): to an IP it sends a reserved `.invalid` name
// and checks the certificate against the IP dialed (its IP SAN), as the server name did before; to
// a DNS name it is grpc's own channel, unchanged.
import * as grpc from '@grpc/grpc-js';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

/** sent instead of an IP address; the `.invalid` TLD never names a real host (RFC 2606) */
export const ETCD_IP_SERVER_NAME = 'etcd-by-ip.invalid';

export interface EtcdPem {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** the host of a grpc target `host:port` or `[v6]:port` */
function hostOf(target: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):\d+$/.exec(target);
  return m?.[1] ?? m?.[2] ?? target;
}

/** a `channelFactoryOverride` for TLS channels to etcd with this material */
export function channelsWithoutIpServerName(pem: EtcdPem) {
  return (target: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions): grpc.Channel => {
    const host = hostOf(target);
    if (isIP(host) === 0) return new grpc.Channel(target, credentials, options);
    const ipChecked = grpc.credentials.createSsl(pem.ca ?? null, pem.key ?? null, pem.cert ?? null, {
      // grpc-js asks with the name it sent; the certificate must name the IP dialed
      checkServerIdentity: (_sent: string, cert: PeerCertificate) => checkServerIdentity(host, cert),
    });
    return new grpc.Channel(target, ipChecked, { ...options, 'grpc.ssl_target_name_override': ETCD_IP_SERVER_NAME });
  };
}
