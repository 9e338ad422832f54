import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import { randomBase62, requestsIn, UsageBatchJob, UsageRow } from '@cap/contracts';

export interface BatcherOptions {
  flushIntervalMs: number;
  onError: (err: unknown) => void;
  /** Told of every attempt to queue a batch, with the requests it carries. */
  onFlush?: (outcome: 'queued' | 'failed', requests: number) => void;
}

/**
 * Counts finished requests in memory by (project, principal, endpoint, status class, minute)
 * and flushes them about once a second as one batch job (id `<source>.<n>`): no queue write per
 * request. A batch
 * that fails to queue is retried as it was (same id, same rows) before anything newer is sent,
 * so `through` only ever moves forward once everything before it is queued.
 */
export class UsageBatcher {
  readonly source = `gw-${hostname()}-${process.pid}-${randomBase62(6)}`;
  private counts = new Map<string, UsageRow>();
  private sequence = 0;
  private unsent?: UsageBatchJob;
  private flushing?: Promise<void>;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly queue: Queue,
    private readonly options: BatcherOptions,
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  record(projectId: string, principal: string, endpoint: string, status: number): void {
    const minuteMs = Math.floor(Date.now() / 60_000) * 60_000;
    const statusClass = `${Math.floor(status / 100)}xx` as UsageRow['status_class'];
    const key = `${projectId}\u0000${principal}\u0000${endpoint}\u0000${statusClass}\u0000${minuteMs}`;
    const row = this.counts.get(key);
    if (row) row.count += 1;
    else {
      this.counts.set(key, {
        project_id: projectId,
        principal,
        endpoint,
        status_class: statusClass,
        minute: new Date(minuteMs).toISOString(),
        count: 1,
      });
    }
  }

  /** Queues what has been counted; resolves when queued (or when it failed and will retry). */
  flush(final = false): Promise<void> {
    this.flushing ??= this.send(final).finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async send(final: boolean): Promise<void> {
    if (!this.unsent) {
      const rows = [...this.counts.values()];
      this.counts = new Map();
      this.unsent = {
        v: 1,
        id: `${this.source}.${this.sequence++}`,
        source: this.source,
        through: new Date().toISOString(),
        rows,
        ...(final ? { final: true } : {}),
      };
    }
    const batch = this.unsent;
    const requests = requestsIn(batch.rows);
    try {
      await this.queue.add('batch', batch, {
        jobId: batch.id,
        attempts: 20,
        backoff: { type: 'exponential', delay: 500 },
        removeOnComplete: true,
        removeOnFail: 1000,
      });
      this.unsent = undefined;
      this.options.onFlush?.('queued', requests);
    } catch (err) {
      this.options.onFlush?.('failed', requests);
      this.options.onError(err);
    }
  }

  /** Requests counted and not yet queued. */
  get pending(): number {
    let n = this.unsent ? requestsIn(this.unsent.rows) : 0;
    for (const row of this.counts.values()) n += row.count;
    return n;
  }

  /**
   * Stops the timer and queues everything counted, the last batch marked final, retrying for
   * up to `timeoutMs`.
   */
  async close(timeoutMs = 5_000): Promise<void> {
    clearInterval(this.timer);
    const deadline = Date.now() + timeoutMs;
    await this.flushing;
    // A batch that failed earlier goes first, as it was; then the final one.
    while (this.unsent && Date.now() < deadline) {
      await this.flush();
      if (this.unsent) await new Promise((r) => setTimeout(r, 100));
    }
    if (!this.unsent) await this.flush(true);
    while (this.unsent && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      await this.flush(true);
    }
    if (this.unsent || this.pending > 0) {
      this.options.onError(new Error(`${this.pending} counted requests could not be queued`));
    }
  }
}
