// Original file: protos/machine/machine.proto


export interface BootstrapRequest {
  'recoverEtcd'?: (boolean);
  'recoverSkipHashCheck'?: (boolean);
}

export interface BootstrapRequest__Output {
  'recoverEtcd': (boolean);
  'recoverSkipHashCheck': (boolean);
}
