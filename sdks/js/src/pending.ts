/**
 * Operations and fields announced for the platform but not yet in its OpenAPI document. The
 * drift test (`test/contract-drift.spec.ts`) fails as soon as the document has one of them:
 * then run `npm run -s sdk:generate` and delete its entry here; the generated types take over.
 */

/** An invitation to a project, sent to a verified email, waiting for its user to accept it. */
export interface Invitation {
  id: string;
  project_id: string;
  email: string;
  role: 'owner' | 'admin' | 'developer' | 'viewer';
  status: string;
  created_at?: string;
  [field: string]: unknown;
}

export interface PendingOperations {
  /** GET /v1/invitations: invitations waiting for the caller */
  getInvitations: {
    path: Record<string, never>;
    query: { limit?: number; starting_after?: string };
    body: undefined;
    response: { data: Invitation[]; has_more: boolean };
  };
  /** POST /v1/invitations/{id}/accept: accept an invitation */
  postInvitationsIdAccept: {
    path: { id: string };
    query: Record<string, never>;
    body: undefined;
    response: Invitation;
  };
}

export const PENDING_OPERATIONS = {
  getInvitations: { method: 'GET', path: '/v1/invitations' },
  postInvitationsIdAccept: { method: 'POST', path: '/v1/invitations/{id}/accept' },
} as const;

/** Request fields announced for existing operations: `operationId` → field names. */
export const PENDING_FIELDS = { postKeys: ['project_access'] } as const;

export interface PendingKeyFields {
  /** `own`: the key sees only its own project; `member`: every project of its creator. */
  project_access?: 'own' | 'member';
}
