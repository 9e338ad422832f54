export * from './prisma';
export * from './migrate';
export * from './embedded';
export * from './database';
export * from './scratch-database';
