import { Controller, Get } from '@nestjs/common';
import { ListPage, listPageSchema, Region, regionSchema } from '@cap/contracts';
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
  async list(): Promise<ListPage<Region>> {
    return { data: await this.regions.list(), has_more: false };
  }
}
