// The plugin's exit codes, defined once: scripts tell "the node is unhealthy" from "I typed it
// wrong", "it does not exist" and "the server (or the way to it) failed" by the code alone. The
// table is printed by `kubectl talos --help` and repeated in the README.

export const EXIT = {
  /** done; the node or cluster is Healthy; the upgrade completed; no problem found */
  ok: 0,
  /** the node or cluster is not Healthy; the upgrade failed on the node; validate found problems */
  unhealthy: 1,
  /** a wrong command, flag, value, kubeconfig or context: nothing was asked of the server */
  usage: 2,
  /** the object (or a subresource's node) does not exist: the server answered NotFound */
  notFound: 3,
  /** the server refused (any other Status), could not be reached, or the plugin failed */
  serverError: 4,
  /** --wait ran out of --timeout before the outcome was known */
  timeout: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** the exit code of a refusal by the server, by its HTTP code */
export const exitCodeOfReply = (httpCode: number): ExitCode => (httpCode === 404 ? EXIT.notFound : EXIT.serverError);

/** the table `--help` ends with */
export const EXIT_CODES_HELP = `
Exit codes:
  ${EXIT.ok}  done: Healthy, the upgrade completed, no problem found
  ${EXIT.unhealthy}  not Healthy, the upgrade failed, or validate found problems
  ${EXIT.usage}  usage error: a wrong command, flag, value, kubeconfig or context
  ${EXIT.notFound}  not found: the server answered NotFound
  ${EXIT.serverError}  server error: any other refusal, the server unreachable, or an unexpected failure
  ${EXIT.timeout}  --wait ran out of --timeout
`;
