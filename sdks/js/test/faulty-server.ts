import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * What the faulty server does with the n-th request (1-based):
 * - `proxy`: forwards it to the upstream (the real platform) and relays the answer;
 * - `drop`: closes the connection without an answer;
 * - `hang`: never answers;
 * - `complete-then-cut`: forwards it, waits for the upstream's whole answer, then closes the
 *   connection: the request was done, its response lost;
 * - `{ status, headers, body }`: answers that.
 */
export type Plan =
  | 'proxy'
  | 'drop'
  | 'hang'
  | 'complete-then-cut'
  | { status: number; headers?: Record<string, string>; body?: unknown };

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A local HTTP server on 127.0.0.1 that fails on purpose, in front of the platform or alone. */
export class FaultyServer {
  readonly seen: SeenRequest[] = [];

  private constructor(
    private readonly server: Server,
    private readonly upstream: string | undefined,
    private readonly plan: (n: number, req: SeenRequest) => Plan,
  ) {}

  static async start(
    plan: (n: number, req: SeenRequest) => Plan,
    upstream?: string,
  ): Promise<FaultyServer> {
    const server = createServer();
    const faulty = new FaultyServer(server, upstream, plan);
    server.on('request', (req, res) => void faulty.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return faulty;
  }

  url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.seen.push(seen);
    const plan = this.plan(this.seen.length, seen);
    if (plan === 'drop') return void req.socket.destroy();
    if (plan === 'hang') return;
    if (typeof plan === 'object') {
      res.writeHead(plan.status, { 'content-type': 'application/json', ...plan.headers });
      return void res.end(plan.body === undefined ? '' : JSON.stringify(plan.body));
    }
    if (!this.upstream) throw new Error('no upstream to proxy to');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (['host', 'connection', 'content-length'].includes(name) || value === undefined) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const answer = await fetch(`${this.upstream}${seen.url}`, {
      method: seen.method,
      headers,
      body: seen.body || undefined,
    });
    const body = Buffer.from(await answer.arrayBuffer());
    if (plan === 'complete-then-cut') return void req.socket.destroy();
    const out: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (
        !['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name)
      ) {
        out[name] = value;
      }
    });
    res.writeHead(answer.status, out);
    res.end(body);
  }
}

/** A platform-shaped error answer. */
export function errorAnswer(
  status: number,
  code: string,
  headers: Record<string, string> = {},
): Plan {
  return {
    status,
    headers: { 'request-id': `req_faulty${status}`, ...headers },
    body: { error: { code, message: `A ${code} error.`, request_id: `req_faulty${status}` } },
  };
}
