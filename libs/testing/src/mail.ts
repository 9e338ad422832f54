import { createServer, Server, Socket } from 'node:net';
import { Browser, inputValue } from './browser';

/** A message as the test SMTP server received it, its body decoded. */
export interface ReceivedMail {
  from: string;
  to: string[];
  headers: string;
  text: string;
}

function decodeBody(headers: string, body: string): string {
  if (/content-transfer-encoding:\s*base64/i.test(headers)) {
    return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  if (/content-transfer-encoding:\s*quoted-printable/i.test(headers)) {
    return body
      .replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  return body;
}

/**
 * A minimal SMTP server on 127.0.0.1 for tests (RFC 5321's commands a client such as nodemailer
 * sends, no TLS, no auth): it accepts every message and keeps it in `mails`.
 */
export class TestSmtpServer {
  readonly mails: ReceivedMail[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    server: Server,
  ) {
    this.server = server;
  }

  static async start(): Promise<TestSmtpServer> {
    const holder: { self?: TestSmtpServer } = {};
    const server = createServer((socket) => holder.self?.serve(socket));
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(0, '127.0.0.1', () => done());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    holder.self = new TestSmtpServer(port, server);
    return holder.self;
  }

  /** `smtp://127.0.0.1:<port>`: the SMTP_URL of an app that should mail here. */
  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setEncoding('utf8');
    socket.write('220 127.0.0.1 ESMTP test\r\n');
    let buffer = '';
    let inData = false;
    let from = '';
    let to: string[] = [];
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          // Undo dot-stuffing (RFC 5321 §4.5.2).
          const data = buffer.slice(0, end).replace(/^\.\./gm, '.');
          buffer = buffer.slice(end + 5);
          inData = false;
          const split = data.indexOf('\r\n\r\n');
          const headers = split < 0 ? data : data.slice(0, split);
          const body = split < 0 ? '' : data.slice(split + 4);
          this.mails.push({ from, to, headers, text: decodeBody(headers, body) });
          from = '';
          to = [];
          socket.write('250 OK queued\r\n');
          continue;
        }
        const newline = buffer.indexOf('\r\n');
        if (newline < 0) return;
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        const verb = line.split(' ')[0].toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 127.0.0.1\r\n');
        else if (verb === 'MAIL') {
          from = line.replace(/^MAIL FROM:\s*/i, '');
          socket.write('250 OK\r\n');
        } else if (verb === 'RCPT') {
          to.push(line.replace(/^RCPT TO:\s*/i, ''));
          socket.write('250 OK\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          socket.write('354 End data with <CR><LF>.<CR><LF>\r\n');
        } else if (verb === 'QUIT') socket.end('221 Bye\r\n');
        else if (verb === 'RSET' || verb === 'NOOP') socket.write('250 OK\r\n');
        else socket.write('502 Command not implemented\r\n');
      }
    });
  }

  /** The mails sent to `address` so far. */
  mailsTo(address: string): ReceivedMail[] {
    return this.mails.filter((m) => m.to.some((t) => t.toLowerCase().includes(address)));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}

/** The first verification link (`…/verify-email?token=…`) in a text, if any. */
export function verificationLinkIn(text: string): string | undefined {
  return /https?:\/\/[^\s"]+\/verify-email\?token=[^\s"]+/.exec(text)?.[0];
}

/**
 * Signs up at the auth-server's `/signup` page as a person would (the form, then its POST);
 * resolves with the answer page.
 */
export async function signUpInBrowser(
  authServer: string,
  user: { email: string; password: string; name?: string },
  browser = new Browser(),
): Promise<{ status: number; html: string }> {
  const form = await browser.page(`${authServer}/signup`);
  const csrf = inputValue(form.html, 'csrf_token');
  if (!csrf) throw new Error(`no sign-up form: ${form.status} ${form.html.slice(0, 200)}`);
  const res = await browser.page(`${authServer}/signup`, {
    form: { csrf_token: csrf, email: user.email, name: user.name ?? '', password: user.password },
  });
  return { status: res.status, html: res.html };
}
