export * from './env';
export * from './database';
export * from './redis';
export * from './processes';
export * from './platform';
export * from './browser';
export * from './restart';
