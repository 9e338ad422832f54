-- AlterTable
ALTER TABLE "support_tickets" ADD COLUMN     "project_id" TEXT;
