import { z } from 'zod';
import { UNAUTHENTICATED_MESSAGE } from '@cap/auth';
import { ErrorCode, ERROR_CODES, httpStatusOf } from '@cap/contracts';
import type { ApiRoute } from '../routes';

type Json = Record<string, unknown>;

/** The OpenAPI document of the route table, built once at startup. */
export const OPENAPI_DOCUMENT = Symbol('OPENAPI_DOCUMENT');

/** JSON Schema of a zod schema, with named schemas moved to `components.schemas`. */
function schemaOf(schema: z.ZodType, components: Json, io: 'input' | 'output' = 'output'): Json {
  const json = z.toJSONSchema(schema, { unrepresentable: 'any', io }) as Json;
  const defs = (json.$defs ?? {}) as Record<string, Json>;
  const fix = (value: unknown): unknown =>
    JSON.parse(
      JSON.stringify(value).replace(/"#\/\$defs\/([^"]+)"/g, '"#/components/schemas/$1"'),
    ) as unknown;
  for (const [id, def] of Object.entries(defs)) components[id] = fix(def);
  const { $schema: _s, $defs: _d, ...rest } = json;
  return fix(rest) as Json;
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query', c: Json): Json[] {
  if (!schema) return [];
  const json = schemaOf(schema, c, 'input');
  const props = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: s,
  }));
}

const ERROR_EXAMPLE_MESSAGES: Partial<Record<ErrorCode, string>> = {
  project_not_found: 'No project prj_9 is visible to this key.',
  unauthenticated: UNAUTHENTICATED_MESSAGE,
  rate_limited: 'Rate limit of 600 requests per 60 s exceeded. Retry after 12 s.',
};

/** Errors every authenticated `/v1` route may answer. */
const COMMON_ERRORS: ErrorCode[] = [
  'unauthenticated',
  'invalid_token',
  'rate_limited',
  'internal_error',
  'service_unavailable',
  'upstream_timeout',
];

const RATE_LIMIT_HEADERS = [
  'RateLimit-Policy',
  'RateLimit',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
];

function errorResponses(route: ApiRoute): Record<string, Json> {
  const codes = new Set<ErrorCode>(route.doc.errors ?? []);
  if (!route.public) for (const c of COMMON_ERRORS) codes.add(c);
  if (route.scopes.length) codes.add('insufficient_scope');
  if (route.input.body || route.input.query || route.input.params) codes.add('invalid_request');
  if (route.input.body) {
    for (const c of ['invalid_json', 'unsupported_media_type', 'payload_too_large'] as const) {
      codes.add(c);
    }
  }
  if (route.method === 'POST' && !route.public) {
    codes.add('idempotency_key_reused');
    codes.add('idempotency_key_in_use');
  }
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of ERROR_CODES) {
    if (!codes.has(code)) continue;
    const status = httpStatusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, Json> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const code = list[0];
    out[String(status)] = {
      description: `Error codes: ${list.map((c) => `\`${c}\``).join(', ')}.`,
      headers: { 'Request-Id': { $ref: '#/components/headers/Request-Id' } },
      content: {
        'application/json': {
          schema: { $ref: '#/components/schemas/Error' },
          example: {
            error: {
              code,
              message: ERROR_EXAMPLE_MESSAGES[code] ?? `A ${code} error.`,
              request_id: 'req_3fQ9aZ8vY8qW8k9fFzq3',
            },
          },
        },
      },
    };
  }
  return out;
}

const TAG_DESCRIPTIONS: Record<string, string> = {
  projects: 'Projects, and who may act on them.',
  keys: 'API keys: issue, list, rotate, revoke.',
  invitations: 'Invitations to join projects, waiting for you.',
  regions: 'Where projects can run.',
  usage: 'Request counts per project.',
  user: 'The user behind a credential.',
  support: 'Support tickets.',
  oauth: 'Third-party apps (OAuth 2.0 clients).',
  'openapi.json': 'This document.',
};

/** The OpenAPI 3.1 document of the public API, built from the routes' own declarations. */
export function buildOpenApi(routes: ApiRoute[], serverUrl: string): Json {
  const components: Json = {};
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const { doc } = route;
    const path = route.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters = [
      ...parametersOf(route.input.params, 'path', components),
      ...parametersOf(route.input.query, 'query', components),
    ];
    if (route.method === 'POST' && !route.public) {
      parameters.push({ $ref: '#/components/parameters/Idempotency-Key' });
    }
    const headers: Json = { 'Request-Id': { $ref: '#/components/headers/Request-Id' } };
    if (!route.public) {
      for (const h of RATE_LIMIT_HEADERS) headers[h] = { $ref: `#/components/headers/${h}` };
    }
    const operation: Json = {
      operationId: `${route.method.toLowerCase()}${path
        .replace(/^\/v1/, '')
        .replace(/[{}]/g, '')
        .split(/[/_]/)
        .filter(Boolean)
        .map((s) => s[0].toUpperCase() + s.slice(1))
        .join('')}`,
      summary: doc.summary,
      ...(doc.description ? { description: doc.description } : {}),
      tags: [path.split('/')[2] ?? 'v1'],
      ...(parameters.length ? { parameters } : {}),
      ...(route.input.body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: schemaOf(route.input.body, components, 'input'),
                  ...(doc.bodyExample ? { example: doc.bodyExample } : {}),
                },
              },
            },
          }
        : {}),
      responses: {
        [String(doc.response.status)]: {
          description: doc.response.description,
          headers,
          content: {
            'application/json': {
              schema: schemaOf(doc.response.schema, components),
              ...(doc.response.example ? { example: doc.response.example } : {}),
            },
          },
        },
        ...errorResponses(route),
      },
      security: route.public ? [] : [{ bearer: route.scopes }],
      ...(route.scopes.length ? { 'x-required-scopes': route.scopes } : {}),
    };
    paths[path] = { ...(paths[path] ?? {}), [route.method.toLowerCase()]: operation };
  }
  components.Error = {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message', 'request_id'],
        properties: {
          code: { type: 'string', enum: [...ERROR_CODES] },
          message: { type: 'string' },
          request_id: { type: 'string' },
          param: { type: 'string', description: 'The one input at fault, when there is one.' },
        },
      },
    },
  };
  const header = (description: string, type = 'string') => ({ description, schema: { type } });
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cloud API Platform',
      version: '1.0.0',
      description:
        'Manage projects, API keys and usage. Authenticate with an API key or an OAuth 2.0 ' +
        'access token as `Authorization: Bearer <token>`.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: serverUrl }],
    tags: [...new Set(Object.keys(paths).map((p) => p.split('/')[2] ?? 'v1'))].map((name) => ({
      name,
      description: TAG_DESCRIPTIONS[name] ?? name,
    })),
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key (`sk_live_…`) or an OAuth 2.0 access token (a JWT).',
        },
      },
      parameters: {
        'Idempotency-Key': {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Up to 255 printable characters. The same key, principal and body within 24 h ' +
            'replays the first response with `Idempotent-Replayed: true`.',
          schema: { type: 'string', maxLength: 255 },
        },
      },
      headers: {
        'Request-Id': header('The id of this request (`req_…`): quote it to support.'),
        'RateLimit-Policy': header(
          'The quota `q` per window `w` seconds (draft-ietf-httpapi-ratelimit-headers-10, ' +
            'a Structured Field), e.g. `"default";q=600;w=60`.',
        ),
        RateLimit: header(
          'Requests remaining `r` and seconds `t` until one is freed, e.g. ' +
            '`"default";r=599;t=42`.',
        ),
        'X-RateLimit-Limit': header('Requests allowed per window (as `q`).', 'integer'),
        'X-RateLimit-Remaining': header('Requests left in the window (as `r`).', 'integer'),
        'X-RateLimit-Reset': header('Unix time at which a request is freed.', 'integer'),
      },
    },
  };
}
