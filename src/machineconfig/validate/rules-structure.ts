// The document's frame (version, persist, sections, machine type) and the shared secrets' formats
// (as `talosctl gen secrets` makes them). Messages name the field and the expected shape, never the
// value.
import { decodeBase64Strict, type Base64Alphabet } from '../base64.js';
import { TOKEN_PATTERN } from '../tokens.js';
import type { RuleContext } from './context.js';
import { isSet, strAt } from './values.js';
import { show } from './problem.js';

export function checkStructure(ctx: RuleContext): void {
  const { config, v1 } = ctx;
  const version = strAt(config, 'version');
  if (version === undefined) v1.error('version', 'required: must be v1alpha1');
  else if (version !== 'v1alpha1') v1.error('version', `must be v1alpha1, not ${show(version)}`);
  if (config.persist === false) v1.error('persist', 'must not be false: Talos always persists its config');
  // a section of the wrong type is the schema check's to report
  if (!isSet(config, 'machine')) v1.error('machine', 'required: the config has no machine section');
  if (!isSet(config, 'cluster')) v1.error('cluster', 'required: the config has no cluster section');
  if (ctx.machine) checkMachineType(ctx);
}

/** A missing type makes a worker; any value the schema check judges (older names are warnings there). */
function checkMachineType(ctx: RuleContext): void {
  if (ctx.machine?.type === undefined)
    ctx.v1.warning('machine.type', 'empty machine type is accepted as worker; write "worker"');
}

function checkToken(
  ctx: RuleContext,
  path: string,
  value: string | undefined,
  mismatch: 'error' | 'warning',
  purpose: string,
): void {
  if (!value) {
    ctx.v1.error(path, `required: ${purpose}`);
    return;
  }
  if (TOKEN_PATTERN.test(value)) return;
  const message = 'must have the token shape [a-z0-9]{6}.[a-z0-9]{16}';
  if (mismatch === 'error') ctx.v1.error(path, message);
  else ctx.v1.warning(path, message);
}

function checkRandom(
  ctx: RuleContext,
  path: string,
  value: string | undefined,
  byteLengths: number[],
  alphabets: Base64Alphabet[],
): void {
  if (value === undefined || value === '') return;
  const bytes = decodeBase64Strict(value, alphabets);
  if (!bytes || bytes.length === 0)
    ctx.v1.error(path, `must be base64 (${alphabets.join(' or ')} alphabet) of random bytes`);
  else if (byteLengths.length > 0 && !byteLengths.includes(bytes.length)) {
    ctx.v1.error(path, `must decode to ${byteLengths.join(' or ')} bytes, not ${bytes.length}`);
  }
}

/** machine.token, cluster.token, cluster.id/secret and the encryption secret: present where needed, in their formats. */
export function checkSecrets(ctx: RuleContext): void {
  const { machine, cluster } = ctx;
  if (machine) {
    // gen config writes the trustd token in the bootstrap-token shape; other shapes work, so only warn
    checkToken(
      ctx,
      'machine.token',
      strAt(machine, 'token'),
      'warning',
      'the trustd token workers use to obtain their certificates',
    );
  }
  if (!cluster) return;
  // kube-apiserver accepts bootstrap tokens only in this shape
  checkToken(ctx, 'cluster.token', strAt(cluster, 'token'), 'error', 'the bootstrap token kubelets join with');
  checkRandom(ctx, 'cluster.id', strAt(cluster, 'id'), [], ['standard', 'url']);
  // the cluster secret is the discovery service's AES-256 key
  checkRandom(ctx, 'cluster.secret', strAt(cluster, 'secret'), [32], ['standard']);
  const secretbox = strAt(cluster, 'secretboxEncryptionSecret');
  const aescbc = strAt(cluster, 'aescbcEncryptionSecret');
  if (secretbox && aescbc) {
    ctx.v1.error(
      'cluster.aescbcEncryptionSecret',
      'only one of secretboxEncryptionSecret and aescbcEncryptionSecret may be set',
    );
  }
  checkRandom(ctx, 'cluster.secretboxEncryptionSecret', secretbox, [32], ['standard']);
  // the key lengths kube-apiserver's aescbc provider accepts
  checkRandom(ctx, 'cluster.aescbcEncryptionSecret', aescbc, [16, 24, 32], ['standard']);
}

/** The cluster name: v1alpha1 `cluster.clusterName`, or (1.14+) KubeClusterConfig's `clusterName`. */
export function checkClusterName(ctx: RuleContext): void {
  if (!ctx.cluster) return;
  const inDocument = ctx
    .documentsOf('KubeClusterConfig')
    .some((d) => (strAt(d.value, 'clusterName') ?? '').trim() !== '');
  const name = strAt(ctx.cluster, 'clusterName');
  if (name !== undefined && name.trim() === '') ctx.v1.error('cluster.clusterName', 'must not be blank');
  else if (name === undefined && !inDocument) {
    ctx.v1.warning(
      'cluster.clusterName',
      'not set: the admin kubeconfig and the discovery service identify the cluster by it',
    );
  }
}
