// The admission webhook configurations (manifests/components/webhooks/webhooks.yaml), derived from
// the kinds: one rule per group naming its versions and resources, for the mutating and the
// validating webhook alike. Pure: hack/gen-manifests.ts writes it.
import { allKinds } from '../src/api/index.js';
import type { KindDefinition } from '../src/machinery/kind.js';

/** valid base64, not a certificate: every overlay replaces it (certs/ or components/cert-manager) */
export const CA_BUNDLE_PLACEHOLDER = Buffer.from(
  'placeholder: replaced by hack/gen-serving-certs.sh (manifests/certs) or components/cert-manager',
).toString('base64');

const SERVICE = { name: 'talos-fleet-apiserver', namespace: 'talos-fleet-system', port: 443 };
const LABELS = { 'app.kubernetes.io/name': 'talos-fleet-apiserver', 'app.kubernetes.io/part-of': 'talos-fleet' };

export interface RuleWithOperations {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: string[];
  scope: '*';
}

export interface Webhook {
  name: string;
  admissionReviewVersions: string[];
  sideEffects: 'None';
  failurePolicy: 'Fail';
  matchPolicy: 'Equivalent';
  reinvocationPolicy?: 'Never';
  timeoutSeconds: number;
  clientConfig: { service: typeof SERVICE & { path: string }; caBundle: string };
  rules: RuleWithOperations[];
  matchConditions: { name: string; expression: string }[];
}

export interface WebhookConfiguration {
  apiVersion: 'admissionregistration.k8s.io/v1';
  kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';
  metadata: { name: string; labels: Record<string, string> };
  webhooks: Webhook[];
}

/** one rule per group: exactly the versions we implement, every resource of the group */
export function webhookRules(kinds: readonly KindDefinition[] = allKinds): RuleWithOperations[] {
  const groups = new Map<string, KindDefinition[]>();
  for (const k of kinds) groups.set(k.group, [...(groups.get(k.group) ?? []), k]);
  return [...groups].map(([group, members]) => ({
    apiGroups: [group],
    apiVersions: [...new Set(members.map((k) => k.version))],
    resources: members.map((k) => k.plural),
    operations: ['CREATE', 'UPDATE'],
    scope: '*',
  }));
}

function webhook(phase: 'mutate' | 'validate', kinds: readonly KindDefinition[]): Webhook {
  return {
    name: `${phase}.talos-fleet.metal.sidero.dev`,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    ...(phase === 'mutate' ? { reinvocationPolicy: 'Never' as const } : {}),
    timeoutSeconds: 10,
    clientConfig: { service: { ...SERVICE, path: `/webhooks/${phase}` }, caBundle: CA_BUNDLE_PLACEHOLDER },
    rules: webhookRules(kinds),
    matchConditions: [
      {
        name: 'not-being-deleted',
        expression: "request.operation == 'CREATE' || !has(object.metadata.deletionTimestamp)",
      },
    ],
  };
}

export function webhookConfigurations(kinds: readonly KindDefinition[] = allKinds): WebhookConfiguration[] {
  const config = (kind: WebhookConfiguration['kind'], phase: 'mutate' | 'validate'): WebhookConfiguration => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind,
    metadata: { name: SERVICE.name, labels: { ...LABELS } },
    webhooks: [webhook(phase, kinds)],
  });
  return [config('MutatingWebhookConfiguration', 'mutate'), config('ValidatingWebhookConfiguration', 'validate')];
}
