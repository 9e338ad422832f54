import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-http-bearer';
import { Principal, PRINCIPAL_RESOLVER, PrincipalResolver } from './principal';

/** `Authorization: Bearer <token>` through passport-http-bearer, resolved by the app. */
@Injectable()
export class BearerStrategy extends PassportStrategy(Strategy, 'bearer') {
  constructor(@Inject(PRINCIPAL_RESOLVER) private readonly resolver: PrincipalResolver) {
    super();
  }

  async validate(token: string): Promise<Principal | false> {
    return (await this.resolver.resolve(token)) ?? false;
  }
}
