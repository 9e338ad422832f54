import { Controller, Get, Header } from '@nestjs/common';
import { listPageSchema, regionSchema } from '@cap/contracts';
import { JSON_CONTENT_TYPE } from '@cap/observability';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { RegionsService } from './regions.service';

@Controller('v1/regions')
export class RegionsController {
  constructor(private readonly regions: RegionsService) {}

  @ApiDoc({
    summary: 'List the regions a project can be created in',
    response: {
      status: 200,
      schema: listPageSchema(regionSchema, 'RegionList'),
      description: 'Every available region.',
    },
  })
  @Get()
  @Header('Content-Type', JSON_CONTENT_TYPE)
  async list(): Promise<string> {
    // The same bytes for every caller until the catalogue changes: serialized once.
    return this.regions.catalogueJson();
  }
}
