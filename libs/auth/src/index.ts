export * from './api-key-format';
export * from './principal';
export * from './bearer.strategy';
export * from './bearer-token';
export * from './route-access';
export * from './current-principal';
export * from './client-secret-format';
export * from './email-verification';
