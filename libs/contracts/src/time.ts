/** RFC 3339 in UTC to the second, as the API writes every time (`2026-03-06T12:00:00Z`). */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function isoOrNull(date: Date | null): string | null {
  return date ? isoSeconds(date) : null;
}
