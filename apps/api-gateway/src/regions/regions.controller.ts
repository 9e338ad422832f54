import { Controller, Get } from '@nestjs/common';
import { ListPage, Region } from '@cap/contracts';
import { RegionsService } from './regions.service';

@Controller('v1/regions')
export class RegionsController {
  constructor(private readonly regions: RegionsService) {}

  @Get()
  async list(): Promise<ListPage<Region>> {
    return { data: await this.regions.list(), has_more: false };
  }
}
