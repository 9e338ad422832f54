/** Which way a keyset page runs over `(createdAt, tie)`. */
export type KeysetOrder = 'asc' | 'desc';

/** What a keyset page hands its `findMany`: the cursor filter, the ordering and the row count. */
export interface KeysetQuery<K extends string> {
  /** `{}` on the first page, else the rows strictly after the cursor; spread it into the scope. */
  where: {
    OR?: Array<
      | { createdAt: { lt: Date } | { gt: Date } }
      | ({ createdAt: Date } & { [P in K]: { lt: string } | { gt: string } })
    >;
  };
  orderBy: [{ createdAt: KeysetOrder }, { [P in K]: KeysetOrder }];
  /** One more than the page, so that `has_more` needs no count. */
  take: number;
}

/**
 * One page of a list ordered by `createdAt` then the unique `tie` column (`id` unless given),
 * after the row whose `tie` is `startingAfter`. Returns `null` when the cursor is not a row of
 * the list (`findCursor` must look in the same scope as `findMany`).
 */
export async function keysetPage<Row, Item, K extends string = 'id'>(spec: {
  limit: number;
  startingAfter?: string;
  order: KeysetOrder;
  tie?: K;
  findCursor: (
    key: string,
  ) => Promise<({ createdAt: Date } & { [P in NoInfer<K>]: string }) | null>;
  findMany: (query: KeysetQuery<NoInfer<K>>) => Promise<Row[]>;
  map: (row: Row) => Item;
}): Promise<{ data: Item[]; has_more: boolean } | null> {
  const tie = (spec.tie ?? 'id') as K;
  const op = spec.order === 'asc' ? 'gt' : 'lt';
  let where: KeysetQuery<K>['where'] = {};
  if (spec.startingAfter) {
    const cursor = await spec.findCursor(spec.startingAfter);
    if (!cursor) return null;
    const after = { [op]: cursor[tie] } as unknown as { lt: string } | { gt: string };
    where = {
      OR: [
        { createdAt: { [op]: cursor.createdAt } as { lt: Date } | { gt: Date } },
        { createdAt: cursor.createdAt, [tie]: after } as { createdAt: Date } & {
          [P in K]: { lt: string } | { gt: string };
        },
      ],
    };
  }
  const orderBy = [{ createdAt: spec.order }, { [tie]: spec.order }] as KeysetQuery<K>['orderBy'];
  const rows = await spec.findMany({ where, orderBy, take: spec.limit + 1 });
  return { data: rows.slice(0, spec.limit).map(spec.map), has_more: rows.length > spec.limit };
}
