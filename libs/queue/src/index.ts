export * from './redis';
export * from './rpc-client';
export * from './rpc-server';
export { requestKey } from './rpc-replies';
export * from './event-bus';
export * from './redis-acl';
