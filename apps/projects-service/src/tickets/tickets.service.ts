import { Injectable } from '@nestjs/common';
import { Actor, DomainError, ListPage, newId, ProjectsJobs, SupportTicket } from '@cap/contracts';
import { badCursor } from '../errors';
import { TicketsRepository, TicketViewer } from './tickets.repository';

type Req<K extends keyof ProjectsJobs> = ProjectsJobs[K]['req'];

const viewerOf = (actor: Actor): TicketViewer => ({
  userId: actor.user_id,
  ...(actor.confined_to !== undefined ? { confinedTo: actor.confined_to } : {}),
});

/**
 * Support tickets: each user sees only their own; a key confined to one project only those
 * opened with a key confined to that project.
 */
@Injectable()
export class TicketsService {
  constructor(private readonly tickets: TicketsRepository) {}

  create(req: Req<'tickets.create'>): Promise<SupportTicket> {
    return this.tickets.create({
      id: newId('ticket'),
      userId: req.actor.user_id,
      projectId: req.actor.confined_to ?? null,
      subject: req.subject,
      body: req.body,
      requestIds: req.request_ids,
    });
  }

  async list(req: Req<'tickets.list'>): Promise<ListPage<SupportTicket>> {
    const page = await this.tickets.listFor(viewerOf(req.actor), req.limit, req.starting_after);
    if (!page) throw badCursor('one of your tickets');
    return page;
  }

  async get(req: Req<'tickets.get'>): Promise<SupportTicket> {
    const ticket = await this.tickets.findFor(viewerOf(req.actor), req.ticket_id);
    if (!ticket) {
      throw new DomainError('not_found', `No ticket ${req.ticket_id} is visible to this key.`, {
        param: 'id',
      });
    }
    return ticket;
  }
}
