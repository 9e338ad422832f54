-- CreateTable
CREATE TABLE "usage_rollups" (
    "project_id" TEXT NOT NULL,
    "granularity" TEXT NOT NULL,
    "bucket_start" TIMESTAMPTZ(3) NOT NULL,
    "principal" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "status_class" TEXT NOT NULL,
    "count" BIGINT NOT NULL,

    CONSTRAINT "usage_rollups_pkey" PRIMARY KEY ("project_id","granularity","bucket_start","principal","endpoint","status_class")
);

-- CreateTable
CREATE TABLE "usage_batches" (
    "id" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "requests" INTEGER NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "usage_batches_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "usage_sources" (
    "id" TEXT NOT NULL,
    "flushed_through" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "usage_sources_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "usage_dead_letters" (
    "id" TEXT NOT NULL,
    "batch_id" TEXT,
    "reason" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "usage_dead_letters_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "usage_batches_received_at_idx" ON "usage_batches"("received_at");
