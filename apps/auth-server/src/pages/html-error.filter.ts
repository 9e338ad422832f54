import { ArgumentsHost, Catch, ExceptionFilter, Inject } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { errorResponse } from '@cap/observability';
import { LOGGER } from '../config';
import { errorPage, PAGE_CSP } from './views';

const TITLES: Record<number, string> = {
  400: 'This request is not valid',
  403: 'This form has expired',
  404: 'Page not found',
  429: 'Too many attempts',
};

/**
 * The pages' error filter: the same mapping as the API's (`errorResponse`), but answered as an
 * HTML page, since a person reads it. 5xx pages show only an error id; the cause is logged.
 */
@Catch()
export class HtmlErrorFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const res = errorResponse(exception, String(req.id));
    if (res.errorId) {
      this.logger.error(
        { err: exception, error_id: res.errorId, request_id: req.id, route: req.routeOptions?.url },
        'page failed',
      );
    }
    const html = errorPage({
      title: TITLES[res.status] ?? (res.status >= 500 ? 'Something went wrong' : 'Request refused'),
      message: res.body.error.message,
      errorId: res.errorId,
    });
    void reply
      .status(res.status)
      .header('Cache-Control', 'no-store')
      .header('Content-Security-Policy', PAGE_CSP)
      .type('text/html; charset=utf-8')
      .send(html);
  }
}
