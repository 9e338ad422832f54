import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { DomainError, newId } from '@cap/contracts';

/**
 * Fastify options shared by every app: request ids, body limit. Fastify's own logger stays off
 * (it would make a child logger per request); the app logs one access line per request itself.
 */
export function fastifyOptions() {
  return {
    logger: false,
    genReqId: () => newId('request'),
    requestIdHeader: false as const,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
  };
}

/**
 * Installs the parts of the HTTP contract that live below Nest's router: the `Request-Id`
 * header on every response and one access-log line per request. Errors Fastify raises itself
 * (bad JSON, wrong content type, oversized body) and unknown routes reach the global filter
 * through the handlers Nest installs.
 */
export function installHttpContract(fastify: FastifyInstance, logger: Logger): void {
  // At send time: an app may replace the request id once it knows the caller.
  fastify.addHook('onSend', (req, reply, _payload, done) => {
    void reply.header('Request-Id', req.id);
    done();
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    if (logger.isLevelEnabled('info')) {
      logger.info(
        {
          request_id: req.id,
          method: req.method,
          route: req.routeOptions?.url ?? null,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 100) / 100,
        },
        'request',
      );
    }
    done();
  });
  // Only JSON bodies are accepted: without this, text/plain would reach validation as a string.
  fastify.removeContentTypeParser('text/plain');
  // JSON must be valid UTF-8: Fastify's parser would silently turn bad bytes into U+FFFD.
  // Prototype-poisoning keys (__proto__, constructor.prototype) are refused with 400.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    let text: string;
    try {
      text = UTF8.decode(body as Buffer);
    } catch {
      done(new DomainError('invalid_json', 'The request body is not valid UTF-8.'), undefined);
      return;
    }
    void parseJson(req, text, done);
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
