# syntax=docker/dockerfile:1
#
# One image per app, each a target of this file:
#
#   docker build --target api-gateway      -t cap/api-gateway .
#   docker build --target auth-server      -t cap/auth-server .
#   docker build --target projects-service -t cap/projects-service .
#   docker build --target usage-worker     -t cap/usage-worker .
#   docker build --target migrate          -t cap/migrate .      # `npm run migrate`, one-shot
#
# Per-app targets rather than `--build-arg APP=...`: each image gets a literal exec-form CMD (node
# is PID 1 and receives SIGTERM itself, no shell in between), its own PORT and EXPOSE, and every
# target shares the same dependency and libs layers, which are built once and stored once.
#
# The apps run as they do in development: `node -r @swc-node/register apps/<app>/src/main.ts`,
# TypeScript compiled at start. That needs a writable /tmp at run time, mounted exec: @swc/core
# 1.16 unpacks its native addon (~30 MB) into a per-user cache there at every start, and
# @swc-node/register keeps a small transform cache there. With a read-only root filesystem, mount
# a tmpfs on /tmp (mode 1777, exec: docker-compose.yml) or an emptyDir (k8s/). SWC refuses a
# world-writable cache directory without the sticky bit, which an emptyDir is, unless
# SWC_NATIVE_BINDING_CACHE_SKIP_SECURITY_CHECK=1 (k8s/ sets it; the pod has one user).

# Pin by digest for reproducible builds: --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:...
ARG NODE_IMAGE=node:20-bookworm-slim

# Production dependencies only. Install scripts are skipped, as npm 11 does on the dev machines:
# nothing in this stack needs them. The Prisma CLI is installed too, as @prisma/client's optional
# peer; `prisma generate` below and `npm run migrate` use it.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# The Prisma client is generated code (libs/db/src/generated, not in git).
FROM deps AS generate
ENV CHECKPOINT_DISABLE=1
COPY prisma.config.ts ./
COPY prisma ./prisma
RUN npm run -s prisma:generate

# What every app image holds: node_modules, the shared libs, the TypeScript config SWC reads
# (paths, decorator metadata). Files stay owned by root: the app cannot change its own code.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    CHECKPOINT_DISABLE=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_CACHE=/tmp/.npm
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json tsconfig.base.json ./
COPY libs ./libs
COPY --from=generate /app/libs/db/src/generated ./libs/db/src/generated
# The image's `node` user, by number so that Kubernetes can check runAsNonRoot.
USER 1000:1000
STOPSIGNAL SIGTERM
# Alive, not ready: /readyz also fails when Postgres or Redis is away, and the container should
# not be marked broken for that. node's fetch, so the image needs no curl.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 CMD ["node", "-e", \
    "fetch('http://127.0.0.1:' + process.env.PORT + '/healthz') \
      .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

FROM runtime AS api-gateway
COPY apps/api-gateway/src ./apps/api-gateway/src
ENV PORT=8080
EXPOSE 8080
CMD ["node", "-r", "@swc-node/register", "apps/api-gateway/src/main.ts"]

FROM runtime AS auth-server
COPY apps/auth-server/src ./apps/auth-server/src
ENV PORT=8081
EXPOSE 8081
CMD ["node", "-r", "@swc-node/register", "apps/auth-server/src/main.ts"]

FROM runtime AS projects-service
COPY apps/projects-service/src ./apps/projects-service/src
ENV PORT=8082
EXPOSE 8082
CMD ["node", "-r", "@swc-node/register", "apps/projects-service/src/main.ts"]

FROM runtime AS usage-worker
COPY apps/usage-worker/src ./apps/usage-worker/src
ENV PORT=8083
EXPOSE 8083
CMD ["node", "-r", "@swc-node/register", "apps/usage-worker/src/main.ts"]

# `npm run migrate` regenerates the Prisma client before migrating, so the generated folder is
# the one place it writes besides /tmp: owned by the app user here, a tmpfs or emptyDir where
# the root filesystem is read-only.
FROM runtime AS migrate
COPY prisma.config.ts ./
COPY prisma ./prisma
COPY scripts/migrate.ts scripts/redis-acl.ts ./scripts/
COPY --from=generate --chown=1000:1000 /app/libs/db/src/generated ./libs/db/src/generated
# Where docker-compose.yml's one-shot `redis-acl` writes the Redis ACL file (a named volume
# copies this directory's owner, so the app user may write it).
RUN mkdir /acl && chown 1000:1000 /acl
HEALTHCHECK NONE
CMD ["npm", "run", "migrate"]
