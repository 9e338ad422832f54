import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ProjectsAdminJobs, ProjectsPublicJobs, QUEUES } from '@cap/contracts';
import { Metrics } from '@cap/observability';
import { RpcServer, rpcServerOptions } from '@cap/queue';
import { CONFIG, ProjectsServiceConfig } from '../config';
import { InvitationsService } from '../invitations/invitations.service';
import { KeysService } from '../keys/keys.service';
import { MembersService } from '../members/members.service';
import { ProjectsService } from '../projects/projects.service';
import { RegionsRepository } from '../regions/regions.repository';
import { TicketsService } from '../tickets/tickets.service';
import { LOGGER } from '../tokens';

/** Serves the `projects` queue: the gateway's (and the admin CLI's) commands and queries. */
@Injectable()
export class ProjectsRpcServer extends RpcServer<ProjectsPublicJobs> {
  constructor(
    @Inject(CONFIG) config: ProjectsServiceConfig,
    @Inject(LOGGER) logger: Logger,
    metrics: Metrics,
    projects: ProjectsService,
    keys: KeysService,
    members: MembersService,
    invitations: InvitationsService,
    tickets: TicketsService,
    regions: RegionsRepository,
  ) {
    super(rpcServerOptions(QUEUES.projects, config, logger, metrics, config.RPC_CONCURRENCY), {
      'regions.list': () => regions.listAvailable(),
      'projects.list': (p) => projects.list(p),
      'projects.create': (p) => projects.create(p),
      'projects.get': (p) => projects.get(p),
      'projects.update': (p) => projects.update(p),
      'projects.delete': (p) => projects.delete(p),
      'members.list': (p) => members.list(p),
      'members.invite': (p) => invitations.invite(p),
      'invitations.list_for_project': (p) => invitations.listForProject(p),
      'invitations.revoke': (p) => invitations.revoke(p),
      'invitations.list_mine': (p) => invitations.listMine(p),
      'invitations.accept': (p) => invitations.accept(p),
      'members.remove': (p) => members.remove(p),
      'members.update_role': (p) => members.updateRole(p),
      'keys.create': (p) => keys.create(p),
      'keys.list': (p) => keys.list(p),
      'keys.revoke': (p) => keys.revoke(p),
      'keys.rotate': (p) => keys.rotate(p),
      'keys.touch': (p) => keys.touch(p),
      'keys.authenticate': (p) => keys.authenticate(p),
      'tickets.create': (p) => tickets.create(p),
      'tickets.list': (p) => tickets.list(p),
      'tickets.get': (p) => tickets.get(p),
    });
  }
}

/**
 * Serves the `admin-projects` queue: the operator's `admin.` jobs, which only the admin CLI's
 * Redis user can add (the gateway's cannot reach this queue).
 */
@Injectable()
export class ProjectsAdminRpcServer extends RpcServer<ProjectsAdminJobs> {
  constructor(
    @Inject(CONFIG) config: ProjectsServiceConfig,
    @Inject(LOGGER) logger: Logger,
    metrics: Metrics,
    keys: KeysService,
    projects: ProjectsService,
    members: MembersService,
  ) {
    super(rpcServerOptions(QUEUES.adminProjects, config, logger, metrics, 2), {
      'admin.keys.create': (p) => keys.adminCreate(p),
      'admin.keys.revoke': (p) => keys.adminRevoke(p),
      'admin.projects.set-limit': (p) => projects.adminSetLimit(p),
      'admin.members.add': (p) => members.adminAdd(p),
    });
  }
}
