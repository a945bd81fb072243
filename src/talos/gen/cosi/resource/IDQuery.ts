// Original file: protos/resource/resource.proto


export interface IDQuery {
  'regexp'?: (string);
}

export interface IDQuery__Output {
  'regexp': (string);
}
