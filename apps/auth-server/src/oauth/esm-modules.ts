/**
 * oidc-provider and jose are published as ES modules only, and this app is compiled to CommonJS
 * (swc, as `node -r @swc-node/register` runs it). swc turns `await import(x)` into
 * `Promise.resolve().then(() => require(x))`, and Node ≥ 20.19 can `require()` an ES module as
 * long as its module graph has no top-level await — true of oidc-provider 9 (with koa 3) and
 * jose 6 — so the app loads both as it is. Should a future version add top-level await, the start
 * fails with ERR_REQUIRE_ASYNC_MODULE, loudly.
 *
 * Jest's own module registry cannot `require()` an ES module on Node 20 ("Must use import to
 * load ES Module"); jest.config.js therefore compiles these packages to CommonJS as well
 * (transformIgnorePatterns). The auth-server's e2e tests do not depend on that: they boot the
 * server as a child process, exactly as `npm start` does, and run openid-client in a child
 * process too.
 */
export const loadOidcProvider = () => import('oidc-provider');
export const loadJose = () => import('jose');
