// Certificates and keys of the v1alpha1 document (base64 of PEM), and who must or must not hold the
// CA keys: a control plane signs with the OS CA key; a worker carries the CA certificates only,
// with `key: ""`.
import type { RuleContext } from './context.js';
import { joinIndex } from './problem.js';
import { keyMatchesCertificate, readCertificate, readPrivateKey } from './pemfields.js';
import { isNonEmpty, mapAt, mapItems, strAt } from './values.js';
import type { PlainMap } from './yamltree.js';

/** Parses `<path>.crt` (a CA) and, unless `skipKey`, `<path>.key`, and checks that they belong together. */
function checkPair(ctx: RuleContext, path: string, pair: PlainMap | undefined, skipKey: boolean): void {
  const crtText = strAt(pair, 'crt');
  const keyText = skipKey ? undefined : strAt(pair, 'key');
  const cert = crtText ? readCertificate(ctx.v1, `${path}.crt`, crtText, 'base64-pem', true) : undefined;
  const key = keyText ? readPrivateKey(ctx.v1, `${path}.key`, keyText, 'base64-pem') : undefined;
  if (cert && key && !keyMatchesCertificate(cert, key))
    ctx.v1.error(`${path}.key`, `does not match the certificate in ${path}.crt`);
  if (keyText && !crtText) ctx.v1.error(`${path}.crt`, `required: ${path} has a key but no certificate`);
}

function checkAcceptedCAs(ctx: RuleContext, section: PlainMap | undefined, path: string): void {
  for (const [i, entry] of mapItems(section, 'acceptedCAs')) {
    const crt = strAt(entry, 'crt');
    const itemPath = joinIndex(path, i);
    if (!crt) ctx.v1.error(`${itemPath}.crt`, 'required: an accepted CA certificate');
    else readCertificate(ctx.v1, `${itemPath}.crt`, crt, 'base64-pem', true);
  }
}

/**
 * machine.ca (the Talos OS CA): a control plane has it with its key, a worker without the key;
 * acceptedCAs may stand in on a worker.
 */
function checkMachineCA(ctx: RuleContext, machine: PlainMap): void {
  const ca = mapAt(machine, 'ca');
  const hasCrt = Boolean(strAt(ca, 'crt'));
  const hasKey = Boolean(strAt(ca, 'key'));
  const hasAccepted = isNonEmpty(machine, 'acceptedCAs');
  if (ctx.isControlPlane) {
    if (!hasCrt) ctx.v1.error('machine.ca.crt', 'required on a control plane: the Talos OS CA certificate');
    if (!hasKey)
      ctx.v1.error('machine.ca.key', 'required on a control plane: the OS CA key signs the Talos API certificates');
  } else if (!hasCrt && !hasAccepted) {
    ctx.v1.error('machine.ca', 'required: machine.ca.crt or machine.acceptedCAs must name the Talos OS CA');
  }
  if (ctx.isWorker && hasKey)
    ctx.v1.error('machine.ca.key', 'must be empty on a worker: only control planes hold the OS CA key');
  checkPair(ctx, 'machine.ca', ca, ctx.isWorker);
  checkAcceptedCAs(ctx, machine, 'machine.acceptedCAs');
}

function checkServiceAccountKey(ctx: RuleContext, cluster: PlainMap): void {
  const text = strAt(mapAt(cluster, 'serviceAccount'), 'key');
  if (!text) return;
  const key = readPrivateKey(ctx.v1, 'cluster.serviceAccount.key', text, 'base64-pem');
  // kube-apiserver signs service-account tokens with RSA or ECDSA keys only
  if (key && key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') {
    ctx.v1.error('cluster.serviceAccount.key', `must be an RSA or ECDSA key, not ${String(key.asymmetricKeyType)}`);
  }
}

export function checkCertificates(ctx: RuleContext): void {
  if (ctx.machine) checkMachineCA(ctx, ctx.machine);
  const cluster = ctx.cluster;
  if (!cluster) return;
  const clusterCA = mapAt(cluster, 'ca');
  // only control planes hold the Kubernetes CA key
  if (ctx.isWorker && strAt(clusterCA, 'key'))
    ctx.v1.error('cluster.ca.key', 'must be empty on a worker: only control planes hold the Kubernetes CA key');
  checkPair(ctx, 'cluster.ca', clusterCA, ctx.isWorker);
  checkAcceptedCAs(ctx, cluster, 'cluster.acceptedCAs');
  checkPair(ctx, 'cluster.aggregatorCA', mapAt(cluster, 'aggregatorCA'), false);
  checkPair(ctx, 'cluster.etcd.ca', mapAt(mapAt(cluster, 'etcd'), 'ca'), false);
  checkServiceAccountKey(ctx, cluster);
}
