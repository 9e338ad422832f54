-- The developer console (apps/console) is a first-party public OAuth client: authorization code
-- with PKCE S256, no secret. Registered here so that no operator has to create it by hand; a
-- deployment reached at another address registers its own (`create-client --public`) and sets
-- CONSOLE_CLIENT_ID. The owner is a system id that no user can hold (user ids are random).
INSERT INTO "oauth_clients" ("id", "owner_id", "name", "type", "redirect_uris", "secret_hash", "created_at", "updated_at")
VALUES ('cli_console', 'usr_system', 'Developer console', 'public',
        ARRAY['http://127.0.0.1:8084/auth/callback', 'http://localhost:8084/auth/callback'],
        NULL, now(), now())
ON CONFLICT ("id") DO NOTHING;
