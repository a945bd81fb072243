// What a write or read carries besides its object: who asks, how strictly to decode,
// whether to persist, and where warnings go. Built by apiservice from the request.

export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface RequestContext {
  user: UserInfo;
  dryRun: boolean;
  fieldManager?: string;
  fieldValidation: FieldValidation;
  /** Warning header texts collected while serving the request */
  warnings: string[];
  /** aborted when the client goes away or the request times out */
  signal?: AbortSignal;
}

export function systemContext(): RequestContext {
  return {
    user: { name: 'system:apiserver', groups: ['system:masters'] },
    dryRun: false,
    // the name its writes carry in managedFields (kube's controllers are named by their user agent)
    fieldManager: 'talos-fleet-apiserver',
    fieldValidation: 'Ignore',
    warnings: [],
  };
}
