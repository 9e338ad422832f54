import { DomainError, ErrorShape } from './domain-error';
import { ErrorCode } from './error-codes';

describe('DomainError', () => {
  it('is an Error with name, code, message and status', () => {
    const err = new DomainError('project_not_found', 'No such project.');
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(DomainError);
    expect(err.name).toBe('DomainError');
    expect(err.code).toBe('project_not_found');
    expect(err.message).toBe('No such project.');
    expect(err.status).toBe(404);
    expect(err.param).toBeUndefined();
  });

  it('takes its status from the code table', () => {
    expect(new DomainError('invalid_request', 'x').status).toBe(400);
    expect(new DomainError('unauthenticated', 'x').status).toBe(401);
    expect(new DomainError('conflict', 'x').status).toBe(409);
    expect(new DomainError('rate_limited', 'x').status).toBe(429);
    expect(new DomainError('upstream_timeout', 'x').status).toBe(503);
  });

  it('keeps param and cause', () => {
    const cause = new Error('root');
    const err = new DomainError('invalid_request', 'Bad name.', { param: 'name', cause });
    expect(err.param).toBe('name');
    expect(err.cause).toBe(cause);
  });

  describe('toShape', () => {
    it('has no param key when none was set', () => {
      const shape = new DomainError('not_found', 'Gone.').toShape();
      expect(shape).toEqual({ code: 'not_found', message: 'Gone.' });
      expect(Object.keys(shape).sort()).toEqual(['code', 'message']);
      expect('param' in shape).toBe(false);
    });

    it('has param when it was set, even to an empty string', () => {
      expect(new DomainError('invalid_request', 'Bad.', { param: 'name' }).toShape()).toEqual({
        code: 'invalid_request',
        message: 'Bad.',
        param: 'name',
      });
      expect(new DomainError('invalid_request', 'Bad.', { param: '' }).toShape()).toEqual({
        code: 'invalid_request',
        message: 'Bad.',
        param: '',
      });
    });

    it('carries no cause or stack', () => {
      const shape = new DomainError('internal_error', 'x', {
        cause: new Error('secret'),
      }).toShape();
      expect(JSON.stringify(shape)).not.toContain('secret');
      expect(shape).not.toHaveProperty('stack');
      expect(shape).not.toHaveProperty('cause');
    });
  });

  describe('fromShape', () => {
    it('round-trips through toShape and JSON, with and without param', () => {
      const originals = [
        new DomainError('key_not_found', 'No such key.'),
        new DomainError('invalid_request', 'Unknown field "x".', { param: 'x' }),
      ];
      for (const original of originals) {
        const wire = JSON.parse(JSON.stringify(original.toShape())) as ErrorShape;
        const back = DomainError.fromShape(wire);
        expect(back).toBeInstanceOf(DomainError);
        expect(back.code).toBe(original.code);
        expect(back.message).toBe(original.message);
        expect(back.param).toBe(original.param);
        expect(back.status).toBe(original.status);
        expect(back.toShape()).toEqual(original.toShape());
      }
    });

    it('turns an unknown code from the wire into internal_error, keeping the message', () => {
      const back = DomainError.fromShape({
        code: 'teapot' as ErrorCode,
        message: 'I am a teapot.',
      });
      expect(back.code).toBe('internal_error');
      expect(back.status).toBe(500);
      expect(back.message).toBe('I am a teapot.');
    });

    it('turns a missing or non-string code into internal_error', () => {
      expect(DomainError.fromShape({ message: 'm' } as ErrorShape).code).toBe('internal_error');
      expect(DomainError.fromShape({ code: 404 as unknown as ErrorCode, message: 'm' }).code).toBe(
        'internal_error',
      );
    });
  });
});
