import { Scope, SCOPES } from '@cap/contracts';

/** OpenID Connect scopes: about the user, not the API. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

/** Every scope a client may ask for. */
export const OFFERED_SCOPES: readonly string[] = [...OIDC_SCOPES, ...SCOPES];

/**
 * What an authorization request without `scope` asks for (RFC 6749 §3.3 lets the server pick a
 * default): read-only access to the API.
 */
export const DEFAULT_SCOPE = 'projects:read keys:read usage:read';

/** What each scope lets an app do, in the words the consent page shows. */
const DESCRIPTIONS: Record<(typeof OIDC_SCOPES)[number] | Scope, string> = {
  openid: 'Know who you are on Cloud API Platform (your user id).',
  profile: 'See your name.',
  email: 'See your email address.',
  offline_access: 'Stay connected when you are not using the app.',
  'projects:read': 'See your projects.',
  'projects:write': 'Create, rename and delete your projects.',
  'members:read': 'See who is a member of your projects.',
  'members:write': 'Add and remove members of your projects.',
  'keys:read': 'See the API keys of your projects (never their secrets).',
  'keys:write': 'Issue, rotate and revoke API keys of your projects.',
  'usage:read': 'See how much your projects use the API.',
  'support:read': 'See your support tickets.',
  'support:write': 'Open support tickets for you.',
  'clients:read': 'See the apps you registered.',
  'clients:write': 'Register apps in your name.',
};

export function describeScope(scope: string): string {
  return (DESCRIPTIONS as Record<string, string>)[scope] ?? scope;
}
