import { projectNotFound } from '@cap/contracts';
import type { MemberRole } from '@cap/db';
import { ProjectsRepository } from './projects.repository';
import { Action, assertMay } from './roles';

/**
 * The actor's role on a live project, after checking that it allows `action`: `404
 * project_not_found` for non-members (a project one cannot see does not exist), `403 forbidden`
 * for a member whose role does not allow it.
 */
export async function authorize(
  projects: ProjectsRepository,
  projectId: string,
  userId: string,
  action: Action,
): Promise<MemberRole> {
  const role = await projects.roleOf(projectId, userId);
  if (!role) throw projectNotFound(projectId);
  assertMay(role, action);
  return role;
}
