// The AdmissionReview v1 webhooks, /webhooks/mutate and /webhooks/validate: an AdmissionReview in,
// an AdmissionReview out, the decision made by src/admission. Side-effect free, so it answers
// without credentials, as kube-apiserver calls webhooks. The HTTP half (POST only, the body within
// --max-request-bytes, the JSON answer) is apiservice/handlers/webhooks.ts.
import { review, requestOf, type AdmissionPhase } from '../src/admission/review.js';
import { parseJsonStrict } from '../src/machinery/json.js';
import { badRequest, StatusError } from '../src/machinery/errors.js';

export const WEBHOOK_PATHS = new Map<string, AdmissionPhase>([['/webhooks/mutate', 'mutate'], ['/webhooks/validate', 'validate']]);

/** the AdmissionReview that answers the one in `text`; a body that is not one is a 400 */
export async function answerAdmissionReview(phase: AdmissionPhase, text: string): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = parseJsonStrict(text).value;
  } catch (e) {
    throw e instanceof StatusError ? e : badRequest(`the body is not JSON: ${(e as Error).message}`);
  }
  const response = await review(phase, requestOf(body));
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}
