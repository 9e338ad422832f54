-- A first-party client (the developer console) acts as the user themselves: keys made with its
-- tokens belong to the user and outlive the console session's grant. Only the operator sets it
-- (migration or `create-client --first-party`); no API reaches this column.
ALTER TABLE "oauth_clients" ADD COLUMN "first_party" BOOLEAN NOT NULL DEFAULT false;
UPDATE "oauth_clients" SET "first_party" = true WHERE "id" = 'cli_console';
