export * from './redis';
export * from './rpc-client';
export * from './rpc-server';
export * from './event-bus';
export * from './redis-acl';
