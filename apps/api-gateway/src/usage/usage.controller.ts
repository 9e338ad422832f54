import { Controller, Get, Query } from '@nestjs/common';
import { CurrentPrincipal, Principal, RequireScopes } from '@cap/auth';
import { UsageQuery, usageQuery, UsageReport } from '@cap/contracts';
import { ZodPipe } from '../validation/zod.pipe';
import { UsageService } from './usage.service';

@Controller('v1/usage')
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get()
  @RequireScopes('usage:read')
  get(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(usageQuery)) query: UsageQuery,
  ): Promise<UsageReport> {
    return this.usage.query(principal, query);
  }
}
