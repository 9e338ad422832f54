-- `npm start -- --tls` serves the console over HTTPS on the same port: its redirect URIs there
-- join the http ones (loopback only, like them). A console elsewhere still registers its own.
UPDATE "oauth_clients"
SET "redirect_uris" = "redirect_uris" || ARRAY['https://127.0.0.1:8084/auth/callback', 'https://localhost:8084/auth/callback'],
    "updated_at" = now()
WHERE "id" = 'cli_console' AND "owner_id" = 'usr_system'
  AND NOT ('https://127.0.0.1:8084/auth/callback' = ANY ("redirect_uris"));
