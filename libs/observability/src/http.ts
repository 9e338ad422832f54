import { errorCodes, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { parse as parseSecureJson } from 'secure-json-parse';
import { DomainError, newId } from '@cap/contracts';
import { sendError } from './exception-filter';
import { accessLoggerOf } from './logger';
import { Metrics } from './metrics';

/** What JSON responses say they are (Fastify's own default, for handlers that send text). */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * How an app is reached: which proxies in front of it may name the client (TRUST_PROXY),
 * whether it serves HTTPS itself (TLS_CERT_FILE/TLS_KEY_FILE, read by `readTlsFiles`), and,
 * for the public apps, the HSTS max-age (HSTS_MAX_AGE_S).
 */
export interface HttpAppOptions {
  trustProxy?: false | number | string[];
  https?: { cert: Buffer; key: Buffer };
  hstsMaxAgeS?: number;
}

/**
 * Fastify options shared by every app: request ids, body limit. Fastify's own logger stays off
 * (it would make a child logger per request); the app logs one access line per request itself.
 * Errors Fastify raises before routing (a malformed percent-encoding, an over-long path
 * parameter) get the platform's error object too.
 */
export function fastifyOptions(logger: Logger, trustProxy: HttpAppOptions['trustProxy'] = false) {
  return {
    logger: false,
    // `req.ip` is then the right-most address not in the trusted proxies (TRUST_PROXY).
    trustProxy,
    genReqId: () => newId('request'),
    requestIdHeader: false as const,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    frameworkErrors: (error: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      void reply.header('Request-Id', req.id);
      const status = error.statusCode ?? 400;
      sendError(
        logger,
        status >= 500
          ? error
          : new DomainError('invalid_request', 'The request URL is malformed.', { cause: error }),
        req,
        reply,
      );
    },
  };
}

/**
 * Installs the parts of the HTTP contract that live below Nest's router: the `Request-Id`
 * header on every response, one access-log line per request and the HTTP metrics. Errors
 * Fastify raises itself (bad JSON, wrong content type, oversized body) and unknown routes reach
 * the global filter through the handlers Nest installs.
 */
export function installHttpContract(
  fastify: FastifyInstance,
  logger: Logger,
  metrics: Metrics,
): void {
  metrics.observeRoutes(fastify);
  // Set on arrival, so every later response (errors included) carries it; an app that replaces
  // the request id once it knows the caller sets the header again.
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply.header('request-id', req.id);
    if (req.is404) metrics.unmatched(req, reply);
    const declared = Number(req.headers['content-length']);
    if (declared > 0 && declared > req.routeOptions.bodyLimit) {
      refuseOversized(req, reply, declared, done);
      return;
    }
    done();
  });
  // The level is fixed for the process: below `info` the hook is not installed at all.
  if (logger.isLevelEnabled('info')) {
    const access = accessLoggerOf(logger);
    fastify.addHook('onResponse', (req, reply, done) => {
      access.info(
        {
          request_id: req.id,
          method: req.method,
          route: req.routeOptions?.url ?? null,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 100) / 100,
        },
        'request',
      );
      done();
    });
  }
  // Only JSON bodies are accepted: without this, text/plain would reach validation as a string.
  fastify.removeContentTypeParser('text/plain');
  // JSON must be valid UTF-8: Fastify's parser would silently turn bad bytes into U+FFFD.
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    let text: string;
    try {
      text = UTF8.decode(body as Buffer);
    } catch {
      done(new DomainError('invalid_json', 'The request body is not valid UTF-8.'), undefined);
      return;
    }
    if (text.trim() === '') {
      done(new DomainError('invalid_json', 'The request body is empty but says it is JSON.'));
      return;
    }
    try {
      done(null, parseSecureJson(text, { protoAction: 'error', constructorAction: 'error' }));
    } catch (err) {
      if (err instanceof SyntaxError && /forbidden prototype/i.test(err.message)) {
        // Prototype poisoning (`__proto__`, `constructor.prototype`): refused, naming the key.
        const key = text.includes('"__proto__"') ? '__proto__' : 'constructor';
        done(
          new DomainError('invalid_request', `The field "${key}" is not allowed.`, { param: key }),
        );
        return;
      }
      done(new DomainError('invalid_json', 'The request body is not valid JSON.', { cause: err }));
    }
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Bodies over the limit but under this are read and dropped, so the client sees the 413. */
const DRAIN_MAX_BYTES = 16 * 1024 * 1024;
const DRAIN_MAX_MS = 5_000;

/**
 * `413` for a body whose declared length is over the route's limit, before anything parses it.
 * Answering and closing while the client is still sending makes most clients report a broken
 * pipe instead of the answer, so a body of up to 16 MiB is read and dropped first (nginx's
 * lingering close, bounded in size and time); anything larger, or slower, gets the answer and a
 * closed connection at once.
 */
function refuseOversized(
  req: FastifyRequest,
  reply: FastifyReply,
  declared: number,
  done: (err?: Error) => void,
): void {
  const tooLarge = new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE();
  const raw = req.raw;
  if (declared > DRAIN_MAX_BYTES || raw.readableEnded) {
    void reply.header('connection', 'close');
    done(tooLarge);
    return;
  }
  let settled = false;
  const finish = (drained: boolean) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    raw.off('end', onEnd).off('error', onError);
    if (!drained) void reply.header('connection', 'close');
    done(tooLarge);
  };
  const onEnd = () => finish(true);
  const onError = () => finish(false);
  const timer = setTimeout(() => finish(false), DRAIN_MAX_MS);
  raw.on('end', onEnd).on('error', onError);
  raw.resume();
}
