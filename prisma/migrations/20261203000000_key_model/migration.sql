-- CreateEnum
CREATE TYPE "project_access" AS ENUM ('own', 'member');

-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "project_access" "project_access" NOT NULL DEFAULT 'member',
ADD COLUMN     "grant_id" TEXT;

-- AlterTable
ALTER TABLE "projects" ADD COLUMN     "rate_limit" INTEGER NOT NULL DEFAULT 600;

-- CreateIndex
CREATE INDEX "api_keys_grant_id_idx" ON "api_keys"("grant_id");
