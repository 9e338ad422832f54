import type { FastifyInstance } from 'fastify';

/** Listens on 127.0.0.1 at `PORT` (0: any) and prints the address, for `bench/run.ts` to read. */
export function serve(app: FastifyInstance): void {
  app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' }).then(
    (address) => process.stdout.write(`${address}\n`),
    (err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(1);
    },
  );
}
