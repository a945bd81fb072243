// Original file: protos/resource/resource.proto


export interface LabelQuery {
}

export interface LabelQuery__Output {
}
