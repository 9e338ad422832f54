import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  HttpStatus,
  InternalServerErrorException,
  MethodNotAllowedException,
  NotFoundException,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { DomainError, ERROR_CODES, httpStatusOf } from '@cap/contracts';
import { errorResponse, toDomainError } from './error-response';

const REQUEST_ID = 'req_abc123';

describe('errorResponse', () => {
  describe('a DomainError', () => {
    it('gets the status of its code and the error object with the request id', () => {
      const res = errorResponse(
        new DomainError('project_not_found', 'No such project.'),
        REQUEST_ID,
      );
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        error: { code: 'project_not_found', message: 'No such project.', request_id: REQUEST_ID },
      });
      expect(res.headers).toEqual({});
      expect(res.errorId).toBeUndefined();
    });

    it('carries param when set, and only then', () => {
      const withParam = errorResponse(
        new DomainError('invalid_request', 'Unknown field "x".', { param: 'x' }),
        REQUEST_ID,
      );
      expect(withParam.status).toBe(400);
      expect(withParam.body.error).toEqual({
        code: 'invalid_request',
        message: 'Unknown field "x".',
        request_id: REQUEST_ID,
        param: 'x',
      });
      const without = errorResponse(new DomainError('conflict', 'Taken.'), REQUEST_ID);
      expect('param' in without.body.error).toBe(false);
    });

    it.each(ERROR_CODES.map((code) => [code]))('maps %s to its table status', (code) => {
      const res = errorResponse(new DomainError(code, 'm'), REQUEST_ID);
      expect(res.status).toBe(httpStatusOf(code));
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.request_id).toBe(REQUEST_ID);
    });

    it('keeps the message of a 4xx and of a non-internal 5xx', () => {
      expect(
        errorResponse(new DomainError('rate_limited', 'Slow down.'), REQUEST_ID).body.error,
      ).toMatchObject({ message: 'Slow down.' });
      const timeout = errorResponse(
        new DomainError('upstream_timeout', 'The service did not answer in time.'),
        REQUEST_ID,
      );
      expect(timeout.status).toBe(503);
      expect(timeout.body.error.message).toBe('The service did not answer in time.');
      expect(timeout.errorId).toMatch(/^err_[0-9A-Za-z]{16}$/);
    });

    it('hides the message of an internal_error DomainError', () => {
      const res = errorResponse(
        new DomainError('internal_error', 'database password is hunter2'),
        REQUEST_ID,
      );
      expect(res.status).toBe(500);
      expect(res.body.error.message).not.toContain('hunter2');
      expect(res.body.error.message).toContain(res.errorId);
    });
  });

  describe('WWW-Authenticate', () => {
    it('is a bare Bearer challenge on unauthenticated', () => {
      const res = errorResponse(new DomainError('unauthenticated', 'Send a key.'), REQUEST_ID);
      expect(res.status).toBe(401);
      expect(res.headers).toEqual({ 'www-authenticate': 'Bearer' });
    });

    it('names invalid_token on invalid_token', () => {
      const res = errorResponse(new DomainError('invalid_token', 'Bad key.'), REQUEST_ID);
      expect(res.status).toBe(401);
      expect(res.headers).toEqual({ 'www-authenticate': 'Bearer error="invalid_token"' });
    });

    it('names insufficient_scope on a 403 insufficient_scope', () => {
      const res = errorResponse(
        new DomainError('insufficient_scope', 'Needs keys:write.'),
        REQUEST_ID,
      );
      expect(res.status).toBe(403);
      expect(res.headers).toEqual({ 'www-authenticate': 'Bearer error="insufficient_scope"' });
    });

    it('is absent on forbidden and on every other non-401 code', () => {
      for (const code of ERROR_CODES) {
        if (
          code === 'unauthenticated' ||
          code === 'invalid_token' ||
          code === 'insufficient_scope'
        ) {
          continue;
        }
        expect(errorResponse(new DomainError(code, 'm'), REQUEST_ID).headers).toEqual({});
      }
    });
  });

  describe('an arbitrary Error', () => {
    it('becomes a 500 internal_error without the original message, and with an errorId', () => {
      const err = new Error('connect ECONNREFUSED 10.0.0.7:5432 user=admin');
      const res = errorResponse(err, REQUEST_ID);
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('internal_error');
      expect(res.body.error.request_id).toBe(REQUEST_ID);
      expect(res.body.error.message).not.toContain('ECONNREFUSED');
      expect(JSON.stringify(res.body)).not.toContain('10.0.0.7');
      expect(res.errorId).toMatch(/^err_[0-9A-Za-z]{16}$/);
      expect(res.body.error.message).toContain(res.errorId);
      expect('param' in res.body.error).toBe(false);
      expect(res.headers).toEqual({});
    });

    it('gets a fresh errorId each time', () => {
      const a = errorResponse(new Error('x'), REQUEST_ID).errorId;
      const b = errorResponse(new Error('x'), REQUEST_ID).errorId;
      expect(a).not.toBe(b);
    });

    it.each([['a string'], [undefined], [null], [42], [{}]])(
      'turns the thrown value %p into a 500 internal_error',
      (thrown) => {
        const res = errorResponse(thrown, REQUEST_ID);
        expect(res.status).toBe(500);
        expect(res.body.error.code).toBe('internal_error');
        expect(res.errorId).toBeDefined();
      },
    );

    it('hides the message of a Nest 500 too', () => {
      const res = errorResponse(new InternalServerErrorException('stack trace here'), REQUEST_ID);
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('internal_error');
      expect(res.body.error.message).not.toContain('stack trace');
    });
  });

  describe('a Nest HttpException', () => {
    it('404 becomes route_not_found', () => {
      const res = errorResponse(new NotFoundException('Cannot GET /v1/nope'), REQUEST_ID);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('route_not_found');
      expect(res.body.error.message).not.toContain('/v1/nope');
      expect(res.errorId).toBeUndefined();
    });

    it('405 becomes method_not_allowed', () => {
      const res = errorResponse(new MethodNotAllowedException(), REQUEST_ID);
      expect(res.status).toBe(405);
      expect(res.body.error.code).toBe('method_not_allowed');
    });

    it('413 becomes payload_too_large', () => {
      const res = errorResponse(new PayloadTooLargeException(), REQUEST_ID);
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('payload_too_large');
    });

    it('415 becomes unsupported_media_type', () => {
      const res = errorResponse(new UnsupportedMediaTypeException(), REQUEST_ID);
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe('unsupported_media_type');
    });

    it("400 with 'JSON' in its message becomes invalid_json", () => {
      const res = errorResponse(
        new BadRequestException('Unexpected token } in JSON at position 12'),
        REQUEST_ID,
      );
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_json');
      expect(res.body.error.message).not.toContain('position 12');
    });

    it('any other 400 becomes invalid_request', () => {
      const res = errorResponse(new BadRequestException('Something odd'), REQUEST_ID);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
      expect(res.body.error.message).not.toContain('Something odd');
    });

    it('another 4xx becomes invalid_request with status 400', () => {
      const res = errorResponse(new HttpException('Gone', HttpStatus.GONE), REQUEST_ID);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    });

    it('never echoes the message of another 4xx', () => {
      const res = errorResponse(new ForbiddenException('internal rule 7'), REQUEST_ID);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.body.error.message).not.toContain('rule 7');
    });
  });

  describe('a Fastify framework error', () => {
    it('400 with a JSON error code becomes invalid_json', () => {
      const err = Object.assign(new Error('Body is not valid'), {
        statusCode: 400,
        code: 'FST_ERR_CTP_INVALID_JSON_BODY',
      });
      expect(errorResponse(err, REQUEST_ID).body.error.code).toBe('invalid_json');
    });

    it('a SyntaxError with status 400 becomes invalid_json', () => {
      const err = Object.assign(new SyntaxError('Unexpected end of input'), { statusCode: 400 });
      expect(errorResponse(err, REQUEST_ID).body.error.code).toBe('invalid_json');
    });

    it('413 and 415 map by statusCode', () => {
      const big = Object.assign(new Error('too large'), {
        statusCode: 413,
        code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      });
      expect(errorResponse(big, REQUEST_ID).body.error.code).toBe('payload_too_large');
      const media = Object.assign(new Error('bad media'), {
        statusCode: 415,
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      });
      expect(errorResponse(media, REQUEST_ID).body.error.code).toBe('unsupported_media_type');
    });
  });
});

describe('toDomainError', () => {
  it('returns a DomainError unchanged', () => {
    const err = new DomainError('conflict', 'Taken.');
    expect(toDomainError(err)).toBe(err);
  });

  it('keeps the original error as the cause', () => {
    const err = new Error('boom');
    const domain = toDomainError(err);
    expect(domain.code).toBe('internal_error');
    expect(domain.cause).toBe(err);
    const nest = new NotFoundException();
    expect(toDomainError(nest).cause).toBe(nest);
  });
});
