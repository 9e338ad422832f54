import { Controller, Get, Inject, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthServerConfig, CONFIG } from '../config';
import { OAUTH_ROUTES } from '../oauth/oidc-configuration';
import { HtmlErrorFilter } from '../pages/html-error.filter';
import { pageRequest, sendPage } from '../pages/page-response';
import { SignUpService } from './sign-up.service';

/** Sign-up (`/signup`) and a plain sign-out link (`/signout`, oidc-provider's logout page). */
@Controller()
@UseFilters(HtmlErrorFilter)
export class SignUpController {
  constructor(
    @Inject(CONFIG) private readonly config: AuthServerConfig,
    private readonly signUp: SignUpService,
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
    return sendPage(reply, this.signUp.submit(this.http(req, reply)));
  }

  @Get('signout')
  signOut(@Res() reply: FastifyReply) {
    return sendPage(reply, Promise.resolve({ redirect: OAUTH_ROUTES.end_session }));
  }

  private http(req: FastifyRequest, reply: FastifyReply) {
    return pageRequest(req, reply, this.config.TRUST_PROXY);
  }
}
