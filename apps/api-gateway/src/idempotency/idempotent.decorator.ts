import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { IdempotencyInterceptor } from './idempotency.interceptor';

export const IDEMPOTENT = 'cap:idempotent';

/**
 * `Idempotency-Key` support for a POST route. Applied per route rather than globally: a Nest
 * interceptor costs every request it wraps, and only POSTs need this one. The OpenAPI builder
 * refuses a POST route without it.
 */
export const Idempotent = () =>
  applyDecorators(SetMetadata(IDEMPOTENT, true), UseInterceptors(IdempotencyInterceptor));
