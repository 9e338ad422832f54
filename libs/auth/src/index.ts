export * from './api-key-format';
export * from './principal';
export * from './bearer.strategy';
export * from './guards';
export * from './client-secret-format';
export * from './email-verification';
