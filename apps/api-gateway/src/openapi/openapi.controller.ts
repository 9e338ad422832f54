import { Controller, Get, Inject } from '@nestjs/common';
import { z } from 'zod';
import { Public } from '@cap/auth';
import { ApiDoc } from './api-doc.decorator';
import { OPENAPI_DOCUMENT } from './openapi.tokens';

/** The OpenAPI 3.1 document of this API: public, built once at start from the routes. */
@Controller('v1/openapi.json')
export class OpenApiController {
  constructor(@Inject(OPENAPI_DOCUMENT) private readonly document: Record<string, unknown>) {}

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
  get(): Record<string, unknown> {
    return this.document;
  }
}
