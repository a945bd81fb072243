// The HTTP half of the AdmissionReview webhooks: POST only, the body bounded like any request's;
// the answer itself is webhooks/admissionreview.ts's.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdmissionPhase } from '../../src/admission/review.js';
import { StatusError } from '../../src/machinery/errors.js';
import { answerAdmissionReview } from '../../webhooks/admissionreview.js';
import { readBody, sendJSON } from '../http.js';

export async function serveAdmissionReview(phase: AdmissionPhase, req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<void> {
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    throw new StatusError(405, 'MethodNotAllowed', `${req.method} is not supported on ${req.url}: POST an AdmissionReview`);
  }
  const text = (await readBody(req, maxBytes)).toString('utf8');
  sendJSON(res, 200, await answerAdmissionReview(phase, text));
}
