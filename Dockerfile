# The chat server: the line protocol on 4400, health and metrics over HTTP on 9400.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim AS runtime
# HTTP_HOST=0.0.0.0: a published port reaches only what listens beyond the container's loopback;
# health and metrics are unauthenticated, so publish 9400 on a private address only.
# MALLOC_ARENA_MAX=2: the threads share one malloc arena besides the main thread's;
# MALLOC_TRIM_THRESHOLD_=131072: malloc gives freed memory back as it does before its first large
# free, not only once 18 MB are free (README, "Memory").
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    PORT=4400 \
    HTTP_PORT=9400 \
    HTTP_HOST=0.0.0.0 \
    CHAT_DATA_DIR=/app/data \
    LOG_FORMAT=json
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
# New embedded databases are copies of a template made once here, so no start pays for initdb.
RUN node dist/embedded-template.js
# The embedded database's files, used only when DATABASE_URL is not set; mount a volume here.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 4400 9400
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/healthcheck.js"]
CMD ["node", "dist/main.js"]
