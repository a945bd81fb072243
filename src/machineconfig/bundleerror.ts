// Problems found in a user-supplied secrets bundle, as Kubernetes field errors so that an HTTP
// handler can return them as a 422 Status with causes and a CLI can print one line per problem.
import { fieldErr, invalid, invalidWithMessage, type StatusError, type FieldError } from '../machinery/errors.js';

/**
 * Field errors that never carry the offending value: every value in a secrets bundle is secret
 * material, and secrets must not reach logs or error messages.
 */
export const secretFieldErr = {
  required: (path: string, detail = ''): FieldError => fieldErr.required(path, detail),
  invalid: (path: string, detail: string): FieldError => ({
    type: 'FieldValueInvalid',
    field: path,
    message: `${path || '<root>'}: Invalid value: ${detail}`,
  }),
};

export class InvalidSecretsBundleError extends Error {
  override readonly name = 'InvalidSecretsBundleError';

  constructor(readonly problems: readonly FieldError[]) {
    const messages = problems.map((p) => p.message);
    super(`secrets bundle is invalid: ${messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`}`);
  }

  /**
   * 422 Invalid, one cause per problem, the shape kube-apiserver uses for field errors; a bundle
   * read from a Secret names it, as kube-apiserver names the object (`Secret "x" is invalid:
   * data[secrets.yaml].cluster.id: Required value`), so the message says what to fix.
   */
  toStatusError(stored?: { secret: string; key: string }): StatusError {
    if (stored) {
      const inKey = (field: string) => `data[${stored.key}]${field ? `.${field}` : ''}`;
      return invalid(
        { group: '', kind: 'Secret' },
        stored.secret,
        this.problems.map((p) => ({
          ...p,
          field: inKey(p.field),
          message: `${inKey(p.field)}: ${p.message.replace(/^[^:]*: /, '')}`,
        })),
      );
    }
    return invalidWithMessage(this.message, {
      causes: this.problems.map((p) => ({
        reason: p.type,
        message: p.message.replace(/^[^:]*: /, ''),
        field: p.field,
      })),
    });
  }
}
