/** Test-only entry of libs/db (`@cap/db/testing`): scratch databases, kept out of the production barrel. */
export * from './scratch-database';
