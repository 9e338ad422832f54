/** `npm run migrate`: applies pending migrations to DATABASE_URL (a Kubernetes Job runs this). */
import { z } from 'zod';
import { loadConfig, postgresUrl } from '@cap/config';
import { migrate } from '@cap/db';

const env = loadConfig(z.object({ DATABASE_URL: postgresUrl() }));

migrate(env.DATABASE_URL).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (err: unknown) => {
    process.stderr.write(`migrate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
