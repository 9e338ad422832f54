# syntax=docker/dockerfile:1
#
# One image per app, each a target of this file:
#
#   docker build --target api-gateway      -t cap/api-gateway .
#   docker build --target auth-server      -t cap/auth-server .
#   docker build --target projects-service -t cap/projects-service .
#   docker build --target usage-worker     -t cap/usage-worker .
#   docker build --target console          -t cap/console .
#   docker build --target migrate          -t cap/migrate .      # migrations, Redis ACL, admin CLI
#
# Per-app targets rather than `--build-arg APP=...`: each image gets a literal exec-form CMD (node
# is PID 1 and receives SIGTERM itself, no shell in between), its own PORT and EXPOSE, and every
# target shares the same dependency layer, which is built once and stored once.
#
# The apps are compiled while the image is built (`npm run build`: SWC, scripts/build.ts) and run
# as plain JavaScript, `node dist/apps/<app>/main.js`: an image holds the production
# dependencies (`npm ci --omit=dev`) and its own app's build output, no TypeScript source and no
# compiler, and needs no writable or executable /tmp to start.
#
# Node 22 (an LTS line; Node 20 reached its end of life in April 2026). Pin the base image by
# digest for reproducible builds, the digest of the tag as your registry serves it today:
#
#   docker buildx imagetools inspect node:22-bookworm-slim     # prints "Digest: sha256:…"
#   docker build --build-arg NODE_IMAGE=node:22-bookworm-slim@sha256:<that digest> --target …
ARG NODE_IMAGE=node:22-bookworm-slim

# Everything, dev dependencies included, to generate the Prisma client (libs/db/src/generated,
# not in git) and compile. Install scripts are skipped, as npm 11 does on the dev machines:
# nothing in this stack needs them (SWC's native binary is a platform package).
FROM ${NODE_IMAGE} AS build
ENV CHECKPOINT_DISABLE=1
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.base.json .swcrc prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY libs ./libs
COPY apps ./apps
# `prebuild` generates the Prisma client first; the build compiles it in.
RUN npm run -s build

# Production dependencies only: no compiler, no Prisma CLI, no test tools.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# What every image holds: node_modules and package.json. Files stay owned by root: the app
# cannot change its own code. Each target adds its build output and switches to the app user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
STOPSIGNAL SIGTERM
# Alive, not ready: /readyz also fails when Postgres or Redis is away, and the container should
# not be marked broken for that. node's fetch, so the image needs no curl.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 CMD ["node", "-e", \
    "fetch('http://127.0.0.1:' + process.env.PORT + '/healthz') \
      .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The image's `node` user, by number so that Kubernetes can check runAsNonRoot, set last in each
# target (after anything that needs root).
FROM runtime AS api-gateway
COPY --from=build /app/dist/apps/api-gateway ./dist/apps/api-gateway
ENV PORT=8080
EXPOSE 8080
USER 1000:1000
CMD ["node", "dist/apps/api-gateway/main.js"]

# Also holds the key rotation: node dist/apps/auth-server/signing-keys/rotate-signing-key.command.js
FROM runtime AS auth-server
COPY --from=build /app/dist/apps/auth-server ./dist/apps/auth-server
ENV PORT=8081
EXPOSE 8081
USER 1000:1000
CMD ["node", "dist/apps/auth-server/main.js"]

FROM runtime AS projects-service
COPY --from=build /app/dist/apps/projects-service ./dist/apps/projects-service
ENV PORT=8082
EXPOSE 8082
USER 1000:1000
CMD ["node", "dist/apps/projects-service/main.js"]

FROM runtime AS usage-worker
COPY --from=build /app/dist/apps/usage-worker ./dist/apps/usage-worker
ENV PORT=8083
EXPOSE 8083
USER 1000:1000
CMD ["node", "dist/apps/usage-worker/main.js"]

FROM runtime AS console
COPY --from=build /app/dist/apps/console ./dist/apps/console
ENV PORT=8084
EXPOSE 8084
USER 1000:1000
CMD ["node", "dist/apps/console/main.js"]

# One-shot tools: the migrations (the default command; they are copied beside the built
# migrate, in dist/apps/migrate/prisma/migrations), the Redis ACL
# (node dist/apps/migrate/scripts/redis-acl.js) and the operator CLI
# (node dist/apps/admin-cli/main.js).
FROM runtime AS migrate
COPY --from=build /app/dist/apps/migrate ./dist/apps/migrate
COPY --from=build /app/dist/apps/admin-cli ./dist/apps/admin-cli
# Where docker-compose.yml's one-shot `redis-acl` writes the Redis ACL file (a named volume
# copies this directory's owner, so the app user may write it). Made as root, before USER.
RUN mkdir /acl && chown 1000:1000 /acl
USER 1000:1000
HEALTHCHECK NONE
CMD ["node", "dist/apps/migrate/scripts/migrate.js"]
