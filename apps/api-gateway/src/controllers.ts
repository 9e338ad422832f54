import {
  InvitationsController,
  ProjectInvitationsController,
} from './invitations/invitations.controller';
import { KeysController } from './keys/keys.controller';
import { MembersController } from './members/members.controller';
import { OAuthClientsController } from './oauth-clients/oauth-clients.controller';
import { OpenApiController } from './openapi/openapi.controller';
import { ProjectsController } from './projects/projects.controller';
import { RegionsController } from './regions/regions.controller';
import { TicketsController } from './support/tickets.controller';
import { UsageController } from './usage/usage.controller';
import { UserController } from './user/user.controller';

/** Every controller of the public API: registered by the app, documented by OpenAPI. */
export const API_CONTROLLERS = [
  ProjectsController,
  MembersController,
  ProjectInvitationsController,
  InvitationsController,
  KeysController,
  RegionsController,
  UsageController,
  UserController,
  TicketsController,
  OAuthClientsController,
  OpenApiController,
];
