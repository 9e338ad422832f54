import { Controller, Get } from '@nestjs/common';
import { CurrentPrincipal, Principal } from '@cap/auth';
import { DomainError, User } from '@cap/contracts';
import { Upstream } from '../upstream/upstream';

@Controller('v1/user')
export class UserController {
  constructor(private readonly upstream: Upstream) {}

  /** The user behind the credential: an access token's user, or an API key's creator. */
  @Get()
  get(@CurrentPrincipal() principal: Principal): Promise<User> {
    if (!principal.user_id) {
      throw new DomainError('forbidden', 'A client-credentials token does not act for a user.');
    }
    return this.upstream.identity.call('users.get', { v: 1, user_id: principal.user_id });
  }
}
