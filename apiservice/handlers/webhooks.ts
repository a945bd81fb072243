// POST /webhooks/mutate and /webhooks/validate over HTTP: the body, bounded like every other, goes
// to webhooks/ and its AdmissionReview comes back as JSON. Side-effect free, so it answers
// without credentials, as kube-apiserver calls webhooks.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdmissionPhase } from '../../src/admission/review.js';
import { methodNotAllowedWithMessage } from '../../src/machinery/errors.js';
import { answerAdmissionReview } from '../../webhooks/admissionreview.js';
import { readBody, sendJSON } from '../http.js';

export async function serveAdmissionReview(
  phase: AdmissionPhase,
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
): Promise<void> {
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    throw methodNotAllowedWithMessage(`${req.method} is not supported on ${req.url}: POST an AdmissionReview`);
  }
  const text = (await readBody(req, maxBytes)).toString('utf8');
  sendJSON(res, 200, await answerAdmissionReview(phase, text));
}
