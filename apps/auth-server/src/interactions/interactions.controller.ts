import { Controller, Get, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HtmlErrorFilter } from '../pages/html-error.filter';
import { pageRequest, sendPage } from '../pages/page-response';
import { InteractionsService } from './interactions.service';

/** Sign-in and consent pages of an authorization request (`/interaction/:uid`). */
@Controller('interaction')
@UseFilters(HtmlErrorFilter)
export class InteractionsController {
  constructor(private readonly interactions: InteractionsService) {}

  @Get(':uid')
  show(@Param('uid') uid: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return sendPage(reply, this.interactions.show(uid, this.http(req, reply)));
  }

  @Post(':uid/login')
  signIn(@Param('uid') uid: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return sendPage(reply, this.interactions.signIn(uid, this.http(req, reply)));
  }

  @Post(':uid/consent')
  consent(@Param('uid') uid: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return sendPage(reply, this.interactions.consent(uid, this.http(req, reply)));
  }

  @Post(':uid/abort')
  abort(@Param('uid') uid: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return sendPage(reply, this.interactions.abort(uid, this.http(req, reply)));
  }

  private http(req: FastifyRequest, reply: FastifyReply) {
    return pageRequest(req, reply);
  }
}
