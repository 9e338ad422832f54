/**
 * Operations and fields announced for the platform but not yet in its OpenAPI document. The
 * drift test (`test/contract-drift.spec.ts`) fails as soon as the document has one of them:
 * then run `npm run -s sdk:generate` and delete its entry here; the generated types take over.
 * Nothing is announced now: every operation the SDK sends is in the document.
 */

/** An announced operation: `operationId` → its path, query, body and response types. */
export type PendingOperations = Record<never, never>;

/** `operationId` → method and path, for each operation of `PendingOperations`. */
export const PENDING_OPERATIONS: Readonly<Record<string, { method: string; path: string }>> = {};

/** Request fields announced for existing operations: `operationId` → field names. */
export const PENDING_FIELDS: Readonly<Record<string, readonly string[]>> = {};
