import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { createTransport, Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import { AuthServerConfig, CONFIG, LOGGER } from '../config';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  /** The link the mail carries, if any: what the log shows when no mail server is set. */
  link?: string;
}

/**
 * The auth-server's outgoing mail: through SMTP (nodemailer) when SMTP_URL is set, otherwise
 * written to the log at `info` (with its link) so that local use needs no mail server.
 */
@Injectable()
export class Mailer implements OnApplicationShutdown {
  private readonly transport?: Transporter;

  constructor(
    @Inject(CONFIG) private readonly config: AuthServerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    if (config.SMTP_URL) this.transport = createTransport(config.SMTP_URL);
  }

  /**
   * Sends in the background: a page's answer neither waits for the mail server nor depends on
   * it (so the time it takes says nothing about which mail was sent). Failures are logged.
   */
  send(mail: Mail): void {
    this.deliver(mail).catch((err: unknown) =>
      this.logger.error({ err, to: mail.to, subject: mail.subject }, 'mail not sent'),
    );
  }

  async deliver(mail: Mail): Promise<void> {
    if (!this.transport) {
      this.logger.info(
        { to: mail.to, subject: mail.subject, link: mail.link },
        'mail not sent: SMTP_URL is not set (here is what it says)',
      );
      return;
    }
    await this.transport.sendMail({
      from: this.config.MAIL_FROM,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
    });
  }

  onApplicationShutdown(): void {
    this.transport?.close();
  }
}
