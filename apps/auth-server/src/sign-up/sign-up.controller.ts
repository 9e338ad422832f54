import { Controller, Get, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OAUTH_ROUTES } from '../oauth/oidc-configuration';
import { HtmlErrorFilter } from '../pages/html-error.filter';
import { pageRequest, sendPage } from '../pages/page-response';
import { SignUpThrottle } from './sign-up-throttle';
import { SignUpService } from './sign-up.service';

/** Sign-up (`/signup`) and a plain sign-out link (`/signout`, oidc-provider's logout page). */
@Controller()
@UseFilters(HtmlErrorFilter)
export class SignUpController {
  constructor(
    private readonly signUp: SignUpService,
    private readonly throttle: SignUpThrottle,
  ) {}

  @Get('signup')
  form(
    @Query('interaction') interaction: string | undefined,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    return sendPage(reply, this.signUp.form(this.http(req, reply), interaction));
  }

  @Post('signup')
  submit(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const http = this.http(req, reply);
    // Per address, before anything else: SignUpThrottle.
    const answer = this.throttle
      .attempt(http.ip)
      .then((refused) => refused ?? this.signUp.submit(http));
    return sendPage(reply, answer);
  }

  @Get('signout')
  signOut(@Res() reply: FastifyReply) {
    return sendPage(reply, Promise.resolve({ redirect: OAUTH_ROUTES.end_session }));
  }

  private http(req: FastifyRequest, reply: FastifyReply) {
    return pageRequest(req, reply);
  }
}
