import { z } from 'zod';
import {
  createKeyBody,
  createProjectBody,
  DomainError,
  keyIdParam,
  listQuery,
  newId,
} from '@cap/contracts';
import { toInvalidRequest, ZodPipe } from './zod.pipe';

/** The DomainError thrown by `fn`, failing the test if it throws nothing or something else. */
function thrown(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return err as DomainError;
  }
  throw new Error('expected a DomainError, nothing was thrown');
}

describe('ZodPipe', () => {
  const projects = new ZodPipe(createProjectBody);

  it('passes a valid body through, trimmed', () => {
    expect(projects.transform({ name: '  edge-ingest  ', region: 'us-east' })).toEqual({
      name: 'edge-ingest',
      region: 'us-east',
    });
  });

  it('returns the parsed value, not the input object', () => {
    const input = { name: ' a ', region: 'r' };
    const out = projects.transform(input);
    expect(out).not.toBe(input);
    expect(input.name).toBe(' a ');
  });

  it('applies defaults and coercion for queries', () => {
    const pipe = new ZodPipe(listQuery);
    expect(pipe.transform({})).toEqual({ limit: 20 });
    expect(pipe.transform({ limit: '50' })).toEqual({ limit: 50 });
  });

  it('names an unknown field in param and message', () => {
    const err = thrown(() => projects.transform({ name: 'a', region: 'r', colour: 'blue' }));
    expect(err.code).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.param).toBe('colour');
    expect(err.message).toBe('Unknown field "colour".');
  });

  it('names the first unknown field when there are several', () => {
    const err = thrown(() => projects.transform({ name: 'a', region: 'r', x: 1, y: 2 }));
    expect(err.param).toBe('x');
  });

  it('says which required parameter is missing', () => {
    const err = thrown(() => projects.transform({ region: 'r' }));
    expect(err.code).toBe('invalid_request');
    expect(err.param).toBe('name');
    expect(err.message).toBe('Missing required parameter name.');
  });

  it('tells a value of the wrong type from a missing one', () => {
    const err = thrown(() => projects.transform({ name: 123, region: 'r' }));
    expect(err.param).toBe('name');
    expect(err.message).toBe('Invalid name: Invalid input: expected string, received number.');
  });

  it('says what is wrong with an invalid value, naming it', () => {
    const err = thrown(() => projects.transform({ name: 'a'.repeat(101), region: 'r' }));
    expect(err.code).toBe('invalid_request');
    expect(err.param).toBe('name');
    expect(err.message).toBe('Invalid name: must be at most 100 characters.');
    expect(err.message).not.toContain('Missing');
  });

  it('reports the project id rule of createKeyBody', () => {
    const err = thrown(() => new ZodPipe(createKeyBody).transform({ project_id: 'x', name: 'n' }));
    expect(err.param).toBe('project_id');
    expect(err.message).toBe('Invalid project_id: must be a project id (prj_…).');
  });

  it('joins nested paths with dots', () => {
    const err = thrown(() =>
      new ZodPipe(createKeyBody).transform({
        project_id: newId('project'),
        name: 'n',
        scopes: ['projects:read', 'admin'],
      }),
    );
    expect(err.param).toBe('scopes.1');
    expect(err.message.startsWith('Invalid scopes.1: ')).toBe(true);
  });

  it('names an unknown field inside a nested object by its full path', () => {
    const pipe = new ZodPipe(z.strictObject({ outer: z.strictObject({ a: z.string() }) }));
    const err = thrown(() => pipe.transform({ outer: { a: 'x', b: 'y' } }));
    expect(err.param).toBe('outer.b');
    expect(err.message).toBe('Unknown field "outer.b".');
  });

  it.each([[undefined], [null], ['a string'], [42], [[]], [true]])(
    'asks for a JSON object, with no param, when the body is %p',
    (body) => {
      const err = thrown(() => projects.transform(body));
      expect(err.code).toBe('invalid_request');
      expect(err.message).toBe('The request body must be a JSON object.');
      expect(err.param).toBeUndefined();
      expect('param' in err.toShape()).toBe(false);
    },
  );

  it('validates path params', () => {
    const pipe = new ZodPipe(keyIdParam);
    const id = newId('key');
    expect(pipe.transform({ id })).toEqual({ id });
    expect(thrown(() => pipe.transform({ id: 'prj_abc' })).param).toBe('id');
  });
});

describe('toInvalidRequest', () => {
  it('falls back to a generic message when there is no issue', () => {
    const err = toInvalidRequest(new z.ZodError([]));
    expect(err.code).toBe('invalid_request');
    expect(err.message).toBe('The request is invalid.');
    expect(err.param).toBeUndefined();
  });
});
