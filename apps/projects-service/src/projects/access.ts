import { Actor, DomainError, projectNotFound } from '@cap/contracts';
import type { MemberRole } from '@cap/db';
import { ProjectsRepository } from './projects.repository';
import { Action, assertMay } from './roles';

/**
 * Whether the actor may see `projectId` at all as far as its credential goes: a key confined to
 * its project (`project_access: own`) sees no other. Membership is checked apart.
 */
export function withinConfinement(actor: Actor, projectId: string): boolean {
  return actor.confined_to === undefined || actor.confined_to === projectId;
}

/**
 * The actor's role on a live project, after checking that it allows `action`: `404
 * project_not_found` for non-members and for projects outside the key's confinement (a project
 * one cannot see does not exist), `403 forbidden` for a member whose role does not allow it.
 */
export async function authorize(
  projects: ProjectsRepository,
  projectId: string,
  actor: Actor,
  action: Action,
): Promise<MemberRole> {
  if (!withinConfinement(actor, projectId)) throw projectNotFound(projectId);
  const role = await projects.roleOf(projectId, actor.user_id);
  if (!role) throw projectNotFound(projectId);
  assertMay(role, action);
  return role;
}

/** `403 forbidden` for what only a credential that is not confined to one project may do. */
export function assertNotConfined(actor: Actor, what: string): void {
  if (actor.confined_to !== undefined) {
    throw new DomainError(
      'forbidden',
      `This key is confined to project ${actor.confined_to} (project_access "own") and ` +
        `cannot ${what}. Use a key with project_access "member" or an OAuth access token.`,
    );
  }
}
