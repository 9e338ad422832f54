import { Controller, Get, Query } from '@nestjs/common';
import { CurrentPrincipal, Principal, RequireScopes } from '@cap/auth';
import { UsageQuery, usageQuery, UsageReport, usageReportSchema } from '@cap/contracts';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { ZodPipe } from '../validation/zod.pipe';
import { UsageService } from './usage.service';

@Controller('v1/usage')
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @ApiDoc({
    summary: 'Usage of a project over a time range',
    description:
      'Buckets of `granularity` between `start` and `end` (at most 1500), optionally grouped ' +
      'by key (or OAuth client), endpoint or status class. `complete_through`: every request ' +
      'counted before it is in the figures.',
    response: { status: 200, schema: usageReportSchema, description: 'The usage report.' },
    errors: ['project_not_found'],
  })
  @Get()
  @RequireScopes('usage:read')
  get(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(usageQuery)) query: UsageQuery,
  ): Promise<UsageReport> {
    return this.usage.query(principal, query);
  }
}
