import { Injectable } from '@nestjs/common';
import { DomainError, IdentityJobs, newId, normaliseEmail, User } from '@cap/contracts';
import { UsersRepository } from './users.repository';

type Req<K extends keyof IdentityJobs> = IdentityJobs[K]['req'];

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** `email` normalised, or `400 invalid_request` when it is not an email address. */
export function validEmail(email: string): string {
  const normalised = normaliseEmail(email);
  if (!EMAIL.test(normalised) || normalised.length > 254) {
    throw new DomainError('invalid_request', 'That is not an email address.', { param: 'email' });
  }
  return normalised;
}

@Injectable()
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  /** A user created by the operator: its email counts as verified (the operator vouches). */
  createVerified(req: Req<'admin.users.create'>): Promise<User> {
    return this.create(req, new Date());
  }

  async create(req: Req<'admin.users.create'>, emailVerifiedAt?: Date): Promise<User> {
    const email = validEmail(req.email);
    if (!req.password_hash.startsWith('$argon2id$')) {
      throw new DomainError('invalid_request', 'Passwords must arrive hashed with argon2id.', {
        param: 'password',
      });
    }
    const user = await this.users.create({
      id: newId('user'),
      email,
      name: req.name?.trim() || null,
      passwordHash: req.password_hash,
      emailVerifiedAt,
    });
    if (!user) {
      throw new DomainError('conflict', 'A user with that email already exists.', {
        param: 'email',
      });
    }
    return user;
  }

  findByEmail(req: Req<'users.find-by-email'>): Promise<User | null> {
    return this.users.findByEmail(normaliseEmail(req.email));
  }

  async get(req: Req<'users.get'>): Promise<User> {
    const user = await this.users.findById(req.user_id);
    if (!user) throw new DomainError('user_not_found', `No user ${req.user_id}.`);
    return user;
  }
}
