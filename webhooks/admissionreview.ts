// POST /webhooks/mutate and /webhooks/validate: AdmissionReview v1 in, AdmissionReview v1 out,
// the decision made by src/admission. Side-effect free, so it answers without credentials, as
// kube-apiserver calls webhooks.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { review, requestOf, type AdmissionPhase } from '../src/admission/review.js';
import { parseJsonStrict } from '../src/machinery/json.js';
import { badRequest, methodNotAllowedWithMessage, StatusError } from '../src/machinery/errors.js';
import { readBody, sendJSON } from '../apiservice/http.js';

export const WEBHOOK_PATHS = new Map<string, AdmissionPhase>([['/webhooks/mutate', 'mutate'], ['/webhooks/validate', 'validate']]);

export async function serveAdmissionReview(phase: AdmissionPhase, req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<void> {
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    throw methodNotAllowedWithMessage(`${req.method} is not supported on ${req.url}: POST an AdmissionReview`);
  }
  const text = (await readBody(req, maxBytes)).toString('utf8');
  let body: unknown;
  try {
    body = parseJsonStrict(text).value;
  } catch (e) {
    throw e instanceof StatusError ? e : badRequest(`the body is not JSON: ${(e as Error).message}`);
  }
  const response = await review(phase, requestOf(body));
  sendJSON(res, 200, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
}
