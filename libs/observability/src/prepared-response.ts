/**
 * A response prepared in advance (an idempotent replay), thrown so that the one place that
 * writes non-handler responses — the exception filter — sends it byte for byte.
 */
export class PreparedResponse extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly headers: Record<string, string>,
  ) {
    super('prepared response');
    this.name = 'PreparedResponse';
  }
}
