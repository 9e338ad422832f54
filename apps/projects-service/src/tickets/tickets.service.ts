import { Injectable } from '@nestjs/common';
import { DomainError, ListPage, newId, ProjectsJobs, SupportTicket } from '@cap/contracts';
import { badCursor } from '../errors';
import { TicketsRepository } from './tickets.repository';

type Req<K extends keyof ProjectsJobs> = ProjectsJobs[K]['req'];

/** Support tickets: each user sees only their own. */
@Injectable()
export class TicketsService {
  constructor(private readonly tickets: TicketsRepository) {}

  create(req: Req<'tickets.create'>): Promise<SupportTicket> {
    return this.tickets.create({
      id: newId('ticket'),
      userId: req.actor.user_id,
      subject: req.subject,
      body: req.body,
      requestIds: req.request_ids,
    });
  }

  async list(req: Req<'tickets.list'>): Promise<ListPage<SupportTicket>> {
    const page = await this.tickets.listForUser(req.actor.user_id, req.limit, req.starting_after);
    if (!page) throw badCursor('one of your tickets');
    return page;
  }

  async get(req: Req<'tickets.get'>): Promise<SupportTicket> {
    const ticket = await this.tickets.findForUser(req.actor.user_id, req.ticket_id);
    if (!ticket) {
      throw new DomainError('not_found', `No ticket ${req.ticket_id} is visible to this key.`, {
        param: 'id',
      });
    }
    return ticket;
  }
}
