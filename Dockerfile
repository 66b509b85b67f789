# syntax=docker/dockerfile:1
# Build stage: install everything, compile TypeScript, then drop dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# `npm ci` runs the "prepare" script, which compiles src/ to dist/.
RUN npm ci && npm prune --omit=dev

# Runtime stage: only what the gateway runs with, as an unprivileged user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    GATEHOUSE_CONFIG=/etc/gatehouse/gateway.yaml
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# The example config, so the image runs as is; mount your own over it.
COPY gateway.example.yaml /etc/gatehouse/gateway.yaml
USER node
EXPOSE 8080
# The admin listener (loopback inside the container by default) answers /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9090/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# `serve` gives itself the Node flags it needs ("Node flags" in docs/performance.md).
ENTRYPOINT ["node", "bin/gatehouse.js"]
CMD ["serve"]
