import { DomainError } from '@cap/contracts';

/*
 * The 404s of projects-service (and `projectNotFound`, in contracts). A project or key the actor cannot see is answered exactly like
 * one that does not exist, so that ids of other tenants cannot be probed.
 */

export function keyNotFound(keyId: string): DomainError {
  return new DomainError('key_not_found', `No key ${keyId} is visible to this key.`, {
    param: 'id',
  });
}

export function badCursor(what: string): DomainError {
  return new DomainError('invalid_request', `starting_after is not ${what}.`, {
    param: 'starting_after',
  });
}
