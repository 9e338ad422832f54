import { Injectable } from '@nestjs/common';
import { isoSeconds, ListPage, SupportTicket, TICKET_STATUSES, TicketStatus } from '@cap/contracts';
import { Database, keysetPage, Prisma } from '@cap/db';

const TICKET_FIELDS = {
  id: true,
  subject: true,
  body: true,
  status: true,
  requestIds: true,
  createdAt: true,
  updatedAt: true,
} as const;
type TicketRow = Prisma.SupportTicketGetPayload<{ select: typeof TICKET_FIELDS }>;

function statusOf(value: string): TicketStatus {
  const status = TICKET_STATUSES.find((s) => s === value);
  if (!status) throw new Error(`support_tickets.status holds an unknown status "${value}"`);
  return status;
}

function toTicket(row: TicketRow): SupportTicket {
  return {
    id: row.id,
    subject: row.subject,
    body: row.body,
    status: statusOf(row.status),
    request_ids: row.requestIds,
    created_at: isoSeconds(row.createdAt),
    updated_at: isoSeconds(row.updatedAt),
  };
}

/**
 * Whose tickets: a user's, and for a key confined to one project only those opened with a key
 * confined to that same project (a leaked CI key reads nothing else the user wrote to support).
 */
export interface TicketViewer {
  userId: string;
  confinedTo?: string;
}

function visibleTo(viewer: TicketViewer): Prisma.SupportTicketWhereInput {
  return viewer.confinedTo === undefined
    ? { userId: viewer.userId }
    : { userId: viewer.userId, projectId: viewer.confinedTo };
}

@Injectable()
export class TicketsRepository {
  constructor(private readonly db: Database) {}

  async create(input: {
    id: string;
    userId: string;
    /** The project the opening key was confined to, if it was. */
    projectId: string | null;
    subject: string;
    body: string;
    requestIds: string[];
  }): Promise<SupportTicket> {
    const row = await this.db.client.supportTicket.create({ data: input, select: TICKET_FIELDS });
    return toTicket(row);
  }

  /** The viewer's tickets, newest first, after the cursor ticket; `null` if the cursor is not one. */
  async listFor(
    viewer: TicketViewer,
    limit: number,
    startingAfter?: string,
  ): Promise<ListPage<SupportTicket> | null> {
    const visible = visibleTo(viewer);
    return keysetPage({
      limit,
      startingAfter,
      order: 'desc',
      findCursor: (id) =>
        this.db.client.supportTicket.findFirst({
          where: { ...visible, id },
          select: { id: true, createdAt: true },
        }),
      findMany: (page) =>
        this.db.client.supportTicket.findMany({
          where: { ...visible, ...page.where },
          orderBy: page.orderBy,
          take: page.take,
          select: TICKET_FIELDS,
        }),
      map: toTicket,
    });
  }

  /** One of the viewer's tickets, or `null` (also when it is someone else's). */
  async findFor(viewer: TicketViewer, id: string): Promise<SupportTicket | null> {
    const row = await this.db.client.supportTicket.findFirst({
      where: { ...visibleTo(viewer), id },
      select: TICKET_FIELDS,
    });
    return row ? toTicket(row) : null;
  }
}
