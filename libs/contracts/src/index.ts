export * from './error-codes';
export * from './domain-error';
export * from './ids';
export * from './resources';
export * from './scopes';
export * from './schemas';
export * from './queues';
export * from './time';
