import { createHash } from 'node:crypto';
import {
  CallHandler,
  ExecutionContext,
  HttpStatus,
  Inject,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { from, Observable, of, throwError } from 'rxjs';
import { catchError, mergeMap } from 'rxjs/operators';
import { bucketOf, Principal } from '@cap/auth';
import { DomainError, httpStatusOf } from '@cap/contracts';
import { errorResponse, hookList, JSON_CONTENT_TYPE, toDomainError } from '@cap/observability';
import { CONFIG, GatewayConfig } from '../config';
import { IdempotencySeal } from './idempotency-seal';
import { IdempotencyStore } from './idempotency.store';
import { answerWith, sendPrepared } from './prepared-reply';

const HEADER = 'idempotency-key';
const PRINTABLE = /^[\x20-\x7e]{1,255}$/;

/**
 * Outcomes that are not kept: the request did not run (bad input) or may not have finished
 * (5xx), so the client must be able to retry with the same key.
 */
function isKept(status: number, code?: string): boolean {
  if (status >= 500 || status === 429) return false;
  return code !== 'invalid_request' && code !== 'invalid_json' && code !== 'payload_too_large';
}

/**
 * `Idempotency-Key` on every POST: the first request runs and its response is kept for 24 h;
 * the same key with the same method, path and body replays it byte for byte with
 * `Idempotent-Replayed: true`; with other parameters it is `422 idempotency_key_reused`; while
 * the first still runs, `409 idempotency_key_in_use` with `Retry-After`. Keys are per principal
 * and shared by every gateway through Redis, where the kept responses (which can hold a secret
 * shown once) are sealed under the client's own key (IdempotencySeal).
 *
 * A replay, and a first outcome that is an error worth keeping, leave through `answerWith`:
 * rendered once, kept, and sent as those same bytes, never thrown to the error filter.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    adapterHost: HttpAdapterHost,
    @Inject(CONFIG) private readonly config: GatewayConfig,
    private readonly store: IdempotencyStore,
    private readonly seal: IdempotencySeal,
  ) {
    // Every POST /v1 route is @Idempotent (collectRoutes checks it) and may answer prepared.
    const fastify = adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRoute', (route) => {
      if (route.method !== 'POST' || !route.url.startsWith('/v1/')) return;
      route.onSend = [...hookList(route.onSend), sendPrepared];
    });
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const http = context.switchToHttp();
    const req = http.getRequest<FastifyRequest & { user?: Principal }>();
    const raw = req.headers[HEADER];
    // Only on POST /v1 routes (@Idempotent, checked at startup by collectRoutes).
    if (raw === undefined || !req.user) return next.handle();
    const idemKey = Array.isArray(raw) ? raw[0] : raw;
    if (Array.isArray(raw) || idemKey === undefined || !PRINTABLE.test(idemKey)) {
      throw new DomainError(
        'invalid_request',
        'Idempotency-Key must be one header of 1 to 255 printable ASCII characters.',
        { param: 'Idempotency-Key' },
      );
    }
    const key = this.seal.recordName(this.config.QUEUE_PREFIX, bucketOf(req.user), idemKey);
    const fingerprint = createHash('sha256')
      .update(`${req.method} ${req.url}\n${JSON.stringify(req.body ?? null)}`)
      .digest('hex');

    let begun;
    try {
      begun = await this.store.begin(key, fingerprint);
    } catch (err) {
      throw new DomainError('service_unavailable', 'Idempotency keys cannot be checked now.', {
        cause: err,
      });
    }
    const reply = http.getResponse<FastifyReply>();
    switch (begun.kind) {
      case 'mismatch':
        throw new DomainError(
          'idempotency_key_reused',
          'This Idempotency-Key was used with another request (method, path or body). ' +
            'Use a new key for a new request.',
          { param: 'Idempotency-Key' },
        );
      case 'running':
        void reply.header('retry-after', String(begun.retryAfterSeconds));
        throw new DomainError(
          'idempotency_key_in_use',
          'A request with this Idempotency-Key is still running. Retry after it finishes.',
          { param: 'Idempotency-Key' },
        );
      case 'done': {
        const body = this.seal.open(key, idemKey, begun.body);
        if (body === null) {
          // Kept under another gateway secret (REQUEST_ID_SECRET changed or differs per replica).
          throw new DomainError(
            'idempotency_key_reused',
            'The response kept for this Idempotency-Key cannot be replayed. Use a new key.',
            { param: 'Idempotency-Key' },
          );
        }
        return of(
          answerWith(req, {
            status: begun.status,
            body,
            headers: { 'content-type': begun.contentType, 'idempotent-replayed': 'true' },
          }),
        );
      }
      case 'new':
        break;
    }

    const status =
      (Reflect.getMetadata(HTTP_CODE_METADATA, context.getHandler()) as number | undefined) ??
      HttpStatus.CREATED;
    return next.handle().pipe(
      mergeMap((result: unknown) =>
        from(
          this.store
            .complete(
              key,
              fingerprint,
              status,
              this.seal.seal(key, idemKey, JSON.stringify(result)),
            )
            .catch(() => this.store.release(key, fingerprint).catch(() => undefined))
            .then(() => result),
        ),
      ),
      catchError((err: unknown) => {
        const domain = toDomainError(err);
        if (!isKept(httpStatusOf(domain.code), domain.code)) {
          // Not kept: the error filter answers it, as any other error.
          return from(this.store.release(key, fingerprint).catch(() => undefined)).pipe(
            mergeMap(() => throwError(() => err)),
          );
        }
        const outcome = errorResponse(domain, String(req.id));
        const body = JSON.stringify(outcome.body);
        const answer = () =>
          answerWith(req, {
            status: outcome.status,
            body,
            headers: { ...outcome.headers, 'content-type': JSON_CONTENT_TYPE },
          });
        return from(
          this.store
            .complete(key, fingerprint, outcome.status, this.seal.seal(key, idemKey, body))
            .catch(() => undefined)
            .then(answer),
        );
      }),
    );
  }
}
