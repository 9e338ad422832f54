/** A page of a list: `{ data, has_more }`, as the platform answers it. */
export interface Page<T> {
  data: T[];
  has_more: boolean;
}

/** The cursor of an item for `starting_after`: its `id` (members: their `user_id`). */
export function cursorOf(item: unknown): string | undefined {
  const record = item as { id?: unknown; user_id?: unknown } | null;
  const cursor = record?.id ?? record?.user_id;
  return typeof cursor === 'string' ? cursor : undefined;
}

/**
 * What a `list` method returns: await it for the first page, or `for await` it for every item
 * of every page (the next page is fetched when the current one is used up).
 */
export class PagePromise<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  private first: Promise<Page<T>> | undefined;

  constructor(
    private readonly fetchPage: (startingAfter: string | undefined) => Promise<Page<T>>,
    private readonly startingAfter?: string,
  ) {}

  private firstPage(): Promise<Page<T>> {
    this.first ??= this.fetchPage(this.startingAfter);
    return this.first;
  }

  then<R1 = Page<T>, R2 = never>(
    onfulfilled?: ((value: Page<T>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.firstPage().then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null) {
    return this.firstPage().catch(onrejected);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let page = await this.firstPage();
    for (;;) {
      yield* page.data;
      const cursor = cursorOf(page.data[page.data.length - 1]);
      if (!page.has_more || cursor === undefined) return;
      page = await this.fetchPage(cursor);
    }
  }

  /** Every item of every page, up to `limit` items (default 10 000), as an array. */
  async toArray({ limit = 10_000 }: { limit?: number } = {}): Promise<T[]> {
    const out: T[] = [];
    for await (const item of this) {
      if (out.length >= limit) break;
      out.push(item);
    }
    return out;
  }
}
