import { createScratchDatabase, ScratchDatabase } from '@cap/db/testing';
import { TEST_ENV } from './env';

export type TestDatabase = ScratchDatabase;

/** A new, empty database for one test file; migrated unless `migrated: false`. */
export function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  return createScratchDatabase(TEST_ENV.adminDatabaseUrl, options);
}
