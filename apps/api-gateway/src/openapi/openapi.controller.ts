import { Controller, Get, Header, Inject } from '@nestjs/common';
import { z } from 'zod';
import { Public } from '@cap/auth';
import { JSON_CONTENT_TYPE } from '@cap/observability';
import { ApiDoc } from './api-doc.decorator';
import { OPENAPI_DOCUMENT } from './openapi.builder';

/** The OpenAPI 3.1 document of this API: public, built once at start from the routes. */
@Controller('v1/openapi.json')
export class OpenApiController {
  /** Serialised once: the document is large and never changes while the process runs. */
  private readonly body: string;

  constructor(@Inject(OPENAPI_DOCUMENT) document: Record<string, unknown>) {
    this.body = JSON.stringify(document);
  }

  @ApiDoc({
    summary: 'This OpenAPI 3.1 document',
    response: {
      status: 200,
      schema: z.record(z.string(), z.unknown()),
      description: 'The document.',
    },
  })
  @Get()
  @Public()
  @Header('content-type', JSON_CONTENT_TYPE)
  get(): string {
    return this.body;
  }
}
