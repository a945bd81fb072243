// The AdmissionReview v1 envelope of POST /webhooks/mutate and /webhooks/validate: the request
// body in, the AdmissionReview to answer with out, the decision made by src/admission. No HTTP
// here: apiservice/handlers/webhooks.ts reads the body and writes the answer, so the HTTP edge
// imports this folder and never the other way round.
import { review, requestOf, type AdmissionPhase } from '../src/admission/review.js';
import { parseJsonStrict } from '../src/machinery/json.js';
import { badRequest, StatusError } from '../src/machinery/errors.js';

export const WEBHOOK_PATHS = new Map<string, AdmissionPhase>([
  ['/webhooks/mutate', 'mutate'],
  ['/webhooks/validate', 'validate'],
]);

/** the AdmissionReview answering `body`; a body that is not an AdmissionReview is a 400 StatusError */
export async function answerAdmissionReview(phase: AdmissionPhase, body: string): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    value = parseJsonStrict(body).value;
  } catch (e) {
    throw e instanceof StatusError ? e : badRequest(`the body is not JSON: ${(e as Error).message}`);
  }
  const response = await review(phase, requestOf(value));
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}
