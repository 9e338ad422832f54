/** Scopes an API key (or, later, an OAuth token) can carry. A key gets all of them by default. */
export const SCOPES = [
  'projects:read',
  'projects:write',
  'members:read',
  'members:write',
  'keys:read',
  'keys:write',
  'usage:read',
  'support:read',
  'support:write',
  'clients:read',
  'clients:write',
] as const;

export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
