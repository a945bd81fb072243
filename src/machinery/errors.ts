// One error type for every API failure. Handlers throw (or return) StatusError values;
// apiservice maps them to HTTP exactly once (see toStatus / code).

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  // not one of kube-apiserver's: the boot listener's answer for an Environment that is not ready (Sidero's 412)
  | 'PreconditionFailed';

/** A Kubernetes field error (a `details.causes[]` entry). */
export interface FieldError {
  /** e.g. FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueDuplicate, FieldValueForbidden, FieldValueTooLong */
  type: string;
  /** dotted path, list indices as [i]: spec.topology.workers[1].name */
  field: string;
  /** full message as kube prints it: `spec.x: Required value` */
  message: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message?: string; field?: string; type?: string }[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { continue?: string; resourceVersion?: string };
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
    /** extra Status.metadata (e.g. continue token on 410 for lists) */
    readonly statusMetadata: { continue?: string } = {},
  ) {
    super(message);
    this.name = 'StatusError';
  }

  toStatus(): Status {
    const s: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: { ...this.statusMetadata },
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details && Object.keys(this.details).length > 0) s.details = this.details;
    return s;
  }
}

/** Identifies a resource in error messages: `R.G "name"` (R alone for the core group). */
export interface ResourceRef {
  group: string;
  resource: string;
  kind?: string;
}

export function qualifiedResource(r: ResourceRef): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

/**
 * Names an object's type in a 422, as kube-apiserver's NewInvalid does: by its kind, not its
 * resource, so kubectl prints `The KubernetesCluster "x" is invalid` for every refusal alike.
 */
export interface KindRef {
  group: string;
  kind: string;
}

/** `Kind.group` (Kind alone for the core group), kube's GroupKind.String() */
export function qualifiedKind(r: KindRef): string {
  return r.group ? `${r.kind}.${r.group}` : r.kind;
}

export function notFound(r: ResourceRef, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualifiedResource(r)} "${name}" not found`, {
    name,
    group: r.group,
    kind: r.resource,
  });
}

export function alreadyExists(r: ResourceRef, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualifiedResource(r)} "${name}" already exists`, {
    name,
    group: r.group,
    kind: r.resource,
  });
}

export function conflict(r: ResourceRef, name: string, why: string): StatusError {
  return new StatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(r)} "${name}": ${why}`,
    { name, group: r.group, kind: r.resource },
  );
}

export const MODIFIED_CONFLICT =
  'the object has been modified; please apply your changes to the latest version and try again';

export function invalid(r: KindRef, name: string, errors: FieldError[]): StatusError {
  const msgs = errors.map((e) => e.message);
  const joined = msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`;
  return new StatusError(422, 'Invalid', `${qualifiedKind(r)} "${name}" is invalid: ${joined}`, {
    name,
    group: r.group,
    kind: r.kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.message.replace(/^[^:]*: /, ''), field: e.field })),
  });
}

/** 422 on request options (ListOptions, DeleteOptions, ...), group meta.k8s.io. */
export function invalidOptions(optionsKind: string, errors: FieldError[]): StatusError {
  return invalid({ group: 'meta.k8s.io', kind: optionsKind }, '', errors);
}

// The constructors above word their message from a resource and a name, as kube-apiserver does.
// The `...WithMessage` ones below carry a message of the caller's own (a patch that cannot apply,
// a Talos node's answer) with the same code and reason.

/** 404 for a path that names nothing served here (no resource to name, so no details) */
export function notFoundResource(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource');
}

export function notFoundWithMessage(message: string, details?: StatusDetails): StatusError {
  return new StatusError(404, 'NotFound', message, details);
}

export function alreadyExistsWithMessage(message: string, details?: StatusDetails): StatusError {
  return new StatusError(409, 'AlreadyExists', message, details);
}

export function conflictWithMessage(message: string, details?: StatusDetails): StatusError {
  return new StatusError(409, 'Conflict', message, details);
}

export function invalidWithMessage(message: string, details?: StatusDetails): StatusError {
  return new StatusError(422, 'Invalid', message, details);
}

export function badRequest(message: string, details?: StatusDetails): StatusError {
  return new StatusError(400, 'BadRequest', message, details);
}

/** 401: the request has no identity the server accepts */
export function unauthorized(message = 'Unauthorized'): StatusError {
  return new StatusError(401, 'Unauthorized', message);
}

export function methodNotAllowed(verb: string, r: ResourceRef): StatusError {
  return new StatusError(
    405,
    'MethodNotAllowed',
    `${verb} is not supported on resources of kind "${qualifiedResource(r)}"`,
    {
      group: r.group,
      kind: r.resource,
    },
  );
}

/** 405 for an HTTP method a path does not serve (the caller sets the Allow header) */
export function methodNotAllowedWithMessage(message: string): StatusError {
  return new StatusError(405, 'MethodNotAllowed', message);
}

export function notAcceptable(message: string): StatusError {
  return new StatusError(406, 'NotAcceptable', message);
}

/** 408: the request itself (its body) did not arrive in time; nothing was carried out */
export function requestTimeout(message: string): StatusError {
  return new StatusError(408, 'Timeout', message);
}

export function unsupportedMediaType(message: string): StatusError {
  return new StatusError(415, 'UnsupportedMediaType', message);
}

export function tooLarge(message: string): StatusError {
  return new StatusError(413, 'RequestEntityTooLarge', message);
}

export function preconditionFailed(message: string): StatusError {
  return new StatusError(412, 'PreconditionFailed', message);
}

/** 429; details.retryAfterSeconds becomes the Retry-After header */
export function tooManyRequests(message: string, details?: StatusDetails): StatusError {
  return new StatusError(429, 'TooManyRequests', message, details);
}

export function expired(message: string, continueToken?: string): StatusError {
  return new StatusError(410, 'Expired', message, undefined, continueToken ? { continue: continueToken } : {});
}

export function gone(message: string): StatusError {
  return new StatusError(410, 'Gone', message);
}

export function forbidden(message: string, details?: StatusDetails): StatusError {
  return new StatusError(403, 'Forbidden', message, details);
}

/** 500 as kube-apiserver words it: "Internal error occurred: ..." with the cause */
export function internalError(message: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

/** 500 with the message as given (no "Internal error occurred:" prefix) */
export function internalErrorWithMessage(message: string, details?: StatusDetails): StatusError {
  return new StatusError(500, 'InternalError', message, details);
}

export function serviceUnavailable(message: string, details?: StatusDetails): StatusError {
  return new StatusError(503, 'ServiceUnavailable', message, details);
}

/** 504: a call the server made on the request's behalf did not answer in time */
export function timeout(message: string, details?: StatusDetails): StatusError {
  return new StatusError(504, 'Timeout', message, details);
}

// Field error constructors, message formats as k8s.io/apimachinery/pkg/util/validation/field prints them.

function fmtValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export const fieldErr = {
  required(field: string, detail = ''): FieldError {
    return { type: 'FieldValueRequired', field, message: `${field}: Required value${detail ? `: ${detail}` : ''}` };
  },
  invalid(field: string, value: unknown, detail: string): FieldError {
    return {
      type: 'FieldValueInvalid',
      field,
      message: `${field}: Invalid value: ${fmtValue(value)}${detail ? `: ${detail}` : ''}`,
    };
  },
  notSupported(field: string, value: unknown, supported: string[]): FieldError {
    return {
      type: 'FieldValueNotSupported',
      field,
      message: `${field}: Unsupported value: ${fmtValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
    };
  },
  duplicate(field: string, value: unknown): FieldError {
    return { type: 'FieldValueDuplicate', field, message: `${field}: Duplicate value: ${fmtValue(value)}` };
  },
  forbidden(field: string, detail: string): FieldError {
    return { type: 'FieldValueForbidden', field, message: `${field}: Forbidden: ${detail}` };
  },
  tooLong(field: string, maxLength: number): FieldError {
    return { type: 'FieldValueTooLong', field, message: `${field}: Too long: may not be more than ${maxLength} bytes` };
  },
  tooMany(field: string, max: number): FieldError {
    return { type: 'FieldValueTooMany', field, message: `${field}: Too many: must have at most ${max} items` };
  },
};

export function isStatusError(e: unknown): e is StatusError {
  return e instanceof StatusError;
}
