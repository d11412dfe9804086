# syntax=docker/dockerfile:1
# identity-subgraph: multi-stage build on the current Node LTS; runs as the non-root `node` user.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# npm install (not npm ci): see README. The postinstall generates the Prisma client (no engine needed).
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=4001
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; install scripts are skipped because the Prisma client is already
# compiled into dist/ by the build stage (packages with native parts ship prebuilt binaries).
RUN npm install --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
# Migrations (/app/prisma/migrations) are applied at start (MIGRATE_ON_START) or, as the owner, by
# `node dist/cli/migrate.js` (docker-compose.yml's migrate job; the service then runs as identity_app).
COPY prisma ./prisma
# Operation names of the contract, registered as metric labels at start.
COPY schema/operations ./schema/operations
USER node
# 4001: GraphQL, health, JWKS; 9464: /metrics (METRICS_PORT, in production never on 4001).
EXPOSE 4001 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:4001/health/live').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# --liftoff-only: WebAssembly (Cedar, Prisma's query compiler) stays on V8's baseline compiler; its
# optimising tier costs about 60 MB of RSS to save an uncached Cedar decision 0.4 ms (README, HTTP surface).
CMD ["node", "--liftoff-only", "dist/main.js"]
