import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import passport from 'passport';
import { bearerToken, Principal, UNAUTHENTICATED_MESSAGE } from '@cap/auth';
import { DomainError } from '@cap/contracts';
import { AuthFailureLimiter } from './auth-failures';
import { BearerPrincipalResolver } from './principal-resolver';

/** The hook's `done`: called with the error to answer with. */
export type Done = (err?: Error) => void;
/** What runs next once the caller is known (bound once per route: no closure per request). */
export type Admit = (
  req: FastifyRequest,
  reply: FastifyReply,
  principal: Principal,
  done: Done,
) => void;

const unauthenticated = () => new DomainError('unauthenticated', UNAUTHENTICATED_MESSAGE);

/**
 * Step 1 of the data plane: who is calling. The RFC 6750 header is parsed by `bearerToken`.
 * A credential this process knows (a valid key or token in its cache, or a recent refusal) is
 * answered at once, without a promise. Any other is a guess until shown otherwise: limited per
 * client address first (`AUTH_FAILURES_PER_MINUTE`), then authenticated by passport's bearer
 * strategy (`passport-http-bearer`, whose `validate` asks the resolver: projects-service for a
 * key, local verification for a JWT) — the first sight of every credential goes through
 * passport, the warm path through the cache.
 */
@Injectable()
export class Credentials {
  constructor(
    private readonly resolver: BearerPrincipalResolver,
    private readonly failures: AuthFailureLimiter,
  ) {}

  /** Either `admit` with the principal, or `done` with the error: exactly one, once. */
  identify(req: FastifyRequest, reply: FastifyReply, done: Done, admit: Admit): void {
    const token = bearerToken(req.headers.authorization);
    if (!token) return done(unauthenticated());
    let known: Principal | null | undefined;
    try {
      known = this.resolver.resolveKnown(token);
    } catch (err) {
      return done(err as Error);
    }
    if (known) return admit(req, reply, known, done);
    // `request.ip` honours TRUST_PROXY.
    const ip = req.ip;
    const wait = this.failures.take(ip);
    if (wait) {
      // A key valid here until its entry aged out is not a guess: clients behind the same
      // address (a NAT) as a guesser keep working.
      if (known === null || !this.resolver.wasRecentlyValid(token)) {
        this.failures.throttled();
        void reply.header('retry-after', String(wait));
        return done(
          new DomainError(
            'rate_limited',
            `Too many failed authentications from this address. Retry after ${wait} s.`,
          ),
        );
      }
      this.failures.takeAnyway(ip);
    }
    if (known === null) {
      this.failures.settle(ip, true);
      return done(unauthenticated());
    }
    authenticateFirstSight(token).then(
      (principal) => {
        this.failures.settle(ip, !principal);
        if (!principal) return done(unauthenticated());
        admit(req, reply, principal, done);
      },
      (err: unknown) => {
        // A refused access token throws; a check that could not be made is no failure.
        this.failures.settle(ip, err instanceof DomainError && err.code === 'invalid_token');
        done(err as Error);
      },
    );
  }
}

/**
 * `passport.authenticate('bearer')` on a credential (the `BearerStrategy` registered by
 * `@cap/auth`), with no session: the principal, `null` when the strategy refused it, or the
 * error its `validate` threw. Given the header as `bearerToken` read it, so that passport and
 * the cache agree on what the token is.
 */
function authenticateFirstSight(token: string): Promise<Principal | null> {
  return new Promise((resolve, reject) => {
    const req = { headers: { authorization: `Bearer ${token}` } };
    const authenticate = passport.authenticate(
      'bearer',
      { session: false },
      (err: unknown, principal: Principal | false | undefined) => {
        if (err) reject(asError(err));
        else resolve(principal || null);
      },
    ) as (req: unknown, res: unknown, next: (err?: unknown) => void) => void;
    authenticate(req, {}, (err) => reject(asError(err)));
  });
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error('passport could not authenticate the credential');
}
