/**
 * The OpenAPI document exactly as the gateway serves it at `GET /v1/openapi.json`, built
 * in-process from the gateway's own controllers and builder (no Redis, no boot).
 */
import 'reflect-metadata';
import { buildOpenApi } from '../../../apps/api-gateway/src/openapi/openapi.builder';
import { API_CONTROLLERS, collectRoutes } from '../../../apps/api-gateway/src/routes';

export type OpenApiDocument = Record<string, unknown> & {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, JsonSchema> };
};

export interface OpenApiOperation {
  operationId: string;
  summary?: string;
  description?: string;
  parameters?: ({ $ref: string } | OpenApiParameter)[];
  requestBody?: { content: { 'application/json': { schema: JsonSchema } } };
  responses: Record<string, { content?: { 'application/json'?: { schema: JsonSchema } } }>;
}

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
}

export type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  description?: string;
};

export function openApiDocument(): OpenApiDocument {
  return buildOpenApi(collectRoutes(API_CONTROLLERS), '/') as OpenApiDocument;
}
