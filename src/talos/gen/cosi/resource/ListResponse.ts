// Original file: protos/resource/resource.proto

import type { Resource as _cosi_resource_Resource, Resource__Output as _cosi_resource_Resource__Output } from '../../cosi/resource/Resource.js';

export interface ListResponse {
  'resource'?: (_cosi_resource_Resource | null);
}

export interface ListResponse__Output {
  'resource': (_cosi_resource_Resource__Output | null);
}
