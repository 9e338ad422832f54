import { Controller, Get } from '@nestjs/common';
import { CurrentPrincipal, Principal } from '@cap/auth';
import { DomainError, User, userSchema } from '@cap/contracts';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { Upstream } from '../upstream/upstream';

@Controller('v1/user')
export class UserController {
  constructor(private readonly upstream: Upstream) {}

  /** The user behind the credential: an access token's user, or an API key's creator. */
  @ApiDoc({
    summary: 'The user behind the access token (or the API key)',
    response: { status: 200, schema: userSchema, description: 'The user.' },
    errors: ['forbidden', 'user_not_found'],
  })
  @Get()
  get(@CurrentPrincipal() principal: Principal): Promise<User> {
    if (!principal.user_id) {
      throw new DomainError('forbidden', 'A client-credentials token does not act for a user.');
    }
    return this.upstream.identity.call('users.get', { v: 1, user_id: principal.user_id });
  }
}
