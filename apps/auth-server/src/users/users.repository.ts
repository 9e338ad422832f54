import { Injectable } from '@nestjs/common';
import { isoSeconds, User } from '@cap/contracts';
import { Prisma } from '@cap/db';
import { Database } from '@cap/db';

const USER_FIELDS = { id: true, email: true, name: true, createdAt: true } as const;
type UserRow = Prisma.UserGetPayload<{ select: typeof USER_FIELDS }>;

function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    created_at: isoSeconds(row.createdAt),
  };
}

@Injectable()
export class UsersRepository {
  constructor(private readonly db: Database) {}

  /** Creates a user; `null` when the email is taken. */
  async create(input: {
    id: string;
    email: string;
    name: string | null;
    passwordHash: string;
    /** Set when the operator creates the user: they vouch for the address. */
    emailVerifiedAt?: Date;
  }): Promise<User | null> {
    try {
      return toUser(await this.db.client.user.create({ data: input, select: USER_FIELDS }));
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') return null;
      throw err;
    }
  }

  async findByEmail(email: string): Promise<User | null> {
    const row = await this.db.client.user.findUnique({ where: { email }, select: USER_FIELDS });
    return row ? toUser(row) : null;
  }

  /** The id and password hash of the user with `email`, for sign-in only. */
  async findCredentials(email: string): Promise<{ id: string; passwordHash: string } | null> {
    return this.db.client.user.findUnique({
      where: { email },
      select: { id: true, passwordHash: true },
    });
  }

  /**
   * Marks the email of `userId` verified, if it is still `email` (the address the link was
   * for). Verifying again keeps the first time. `false` when the user or the address is gone.
   */
  async markEmailVerified(userId: string, email: string): Promise<boolean> {
    const rows = await this.db.client.$queryRaw<Array<{ id: string }>>`
      UPDATE users SET email_verified_at = COALESCE(email_verified_at, now())
      WHERE id = ${userId} AND email = ${email}
      RETURNING id`;
    return rows.length > 0;
  }

  async findById(id: string): Promise<User | null> {
    const row = await this.db.client.user.findUnique({ where: { id }, select: USER_FIELDS });
    return row ? toUser(row) : null;
  }
}
