// Original file: protos/resource/resource.proto


export interface GetOptions {
}

export interface GetOptions__Output {
}
