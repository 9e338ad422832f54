import { Controller, Get, Query, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { HtmlErrorFilter } from '../pages/html-error.filter';
import { sendPage } from '../pages/page-response';
import { EmailVerificationService } from './email-verification.service';

/** The page a verification link opens. */
@Controller()
@UseFilters(HtmlErrorFilter)
export class EmailVerificationController {
  constructor(private readonly verification: EmailVerificationService) {}

  @Get('verify-email')
  verify(@Query('token') token: string | undefined, @Res() reply: FastifyReply) {
    return sendPage(reply, this.verification.verify(typeof token === 'string' ? token : undefined));
  }
}
