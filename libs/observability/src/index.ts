export * from './logger';
export * from './error-response';
export * from './exception-filter';
export * from './http';
export * from './health';
export * from './http-app';
export * from './run-app';
export * from './prepared-response';
