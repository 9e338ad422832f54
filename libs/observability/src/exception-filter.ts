import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { errorResponse } from './error-response';

/** The one global filter: every error thrown in a handler is answered by `errorResponse`. */
@Catch()
export class AllErrorsFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    sendError(this.logger, exception, req, reply);
  }
}

/** Writes the error response; logs 5xx with their cause and error id. */
export function sendError(
  logger: Logger,
  exception: unknown,
  req: FastifyRequest,
  reply: FastifyReply,
): void {
  const res = errorResponse(exception, String(req.id));
  if (res.errorId) {
    logger.error(
      { err: exception, error_id: res.errorId, request_id: req.id, route: req.routeOptions?.url },
      'request failed',
    );
  }
  void reply.status(res.status).headers(res.headers).send(res.body);
}
