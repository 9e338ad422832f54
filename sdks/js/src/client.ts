import { ClientOptions, HttpClient, ResponseInfo } from './core.js';
import { RateLimitState } from './rate-limit.js';
import {
  Invitations,
  Keys,
  Members,
  OAuthClients,
  OpenApi,
  Projects,
  Regions,
  SupportTickets,
  Usage,
  Users,
} from './resources.js';

/**
 * The Cloud API client: `new CloudApi({ apiKey })` (or `{ accessToken }` from {@link OAuth}).
 * Every `POST` carries an `Idempotency-Key` reused across its retries; failed calls throw
 * {@link ApiError}s.
 */
export class CloudApi {
  readonly projects: Projects;
  readonly members: Members;
  readonly invitations: Invitations;
  readonly keys: Keys;
  readonly usage: Usage;
  readonly user: Users;
  readonly regions: Regions;
  readonly supportTickets: SupportTickets;
  readonly oauthClients: OAuthClients;
  readonly openapi: OpenApi;
  readonly #http: HttpClient;

  constructor(options: ClientOptions = {}) {
    this.#http = new HttpClient(options);
    this.projects = new Projects(this.#http);
    this.members = new Members(this.#http);
    this.invitations = new Invitations(this.#http);
    this.keys = new Keys(this.#http);
    this.usage = new Usage(this.#http);
    this.user = new Users(this.#http);
    this.regions = new Regions(this.#http);
    this.supportTickets = new SupportTickets(this.#http);
    this.oauthClients = new OAuthClients(this.#http);
    this.openapi = new OpenApi(this.#http);
  }

  /** The last response received: status, `Request-Id`, headers, attempts, replayed. */
  get lastResponse(): ResponseInfo | undefined {
    return this.#http.lastResponse;
  }

  /** The rate-limit state the last response reported (limit, remaining, reset as Unix time). */
  get rateLimit(): RateLimitState | undefined {
    return this.#http.lastResponse?.rateLimit;
  }
}
