/**
 * Baseline "typical gateway": `GET /v1/regions` behind the typical NestJS stack of
 * `typical-nest.ts` (bearer guard, `@nestjs/throttler` on Redis, a Redis counter per request),
 * answering the platform's regions. As in the contract floor, any bearer token is a known key:
 * the cost measured is the stack's, not a key store's.
 */
import { Controller, Get, UseGuards, UseInterceptors } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { KeyThrottlerGuard, serveTypical, UsageInterceptor } from './typical-nest';

const regions: unknown = JSON.parse(process.env.BENCH_BODY ?? '{}');

@Controller('v1')
@UseGuards(AuthGuard('bearer'), KeyThrottlerGuard)
@UseInterceptors(UsageInterceptor)
class RegionsController {
  @Get('regions')
  list(): unknown {
    return regions;
  }
}

void serveTypical(RegionsController, (digest) =>
  Promise.resolve({
    keyId: `key_${digest.slice(0, 20)}`,
    userId: 'usr_bench',
    projectId: 'prj_bench',
  }),
).catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
