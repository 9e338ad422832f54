export * from './prisma';
export * from './migrate';
export * from './embedded';
export * from './database';
export * from './keyset';
