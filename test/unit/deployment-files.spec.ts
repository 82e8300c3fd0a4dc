import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const read = (name: string) => readFileSync(join(ROOT, name), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const stages = dockerfile.split('\n').filter((line) => line.startsWith('FROM '));
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  test('builds in one stage and runs from an official Node 20 image in another', () => {
    expect(stages).toEqual(['FROM node:20-bookworm-slim AS build', 'FROM node:20-bookworm-slim AS runtime']);
    expect(runtime).toContain('COPY --from=build /app/dist ./dist');
  });

  test('the runtime stage installs production dependencies only and runs as a non-root user', () => {
    expect(runtime).toMatch(/^RUN npm ci --omit=dev/m);
    expect(runtime).toMatch(/^USER node$/m);
  });

  test('serves health on 9400 and checks it with the built-in health check script', () => {
    expect(runtime).toMatch(/HTTP_PORT=9400/);
    // HTTP defaults to loopback; in the container it must listen beyond it for the published port.
    expect(runtime).toMatch(/^ {4}HTTP_HOST=0\.0\.0\.0 \\$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*CMD \["node", "dist\/healthcheck\.js"\]$/m);
    expect(runtime).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
  });

  test('every file the build stage copies exists', () => {
    const copied = dockerfile
      .split('\n')
      .filter((line) => line.startsWith('COPY ') && !line.includes('--from='))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    for (const name of copied) expect(() => read(name === 'src' ? 'src/main.ts' : name)).not.toThrow();
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as {
    services: Record<string, ComposeService>;
    volumes: Record<string, unknown>;
  };
  const { postgres, chat } = compose.services;

  test('runs PostgreSQL 16 on a named volume, with a health check', () => {
    expect(postgres.image).toBe('postgres:16');
    const [volume] = postgres.volumes ?? [];
    expect(volume).toBe('pgdata:/var/lib/postgresql/data');
    expect(Object.keys(compose.volumes)).toEqual(['pgdata']);
    expect(postgres.healthcheck?.test.join(' ')).toContain('pg_isready');
  });

  test('starts the server only once PostgreSQL is healthy, and checks the server too', () => {
    expect(chat.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(chat.healthcheck?.test).toEqual(['CMD', 'node', 'dist/healthcheck.js']);
  });

  test('configures the server by environment, with the database of the postgres service', () => {
    expect(chat.environment?.DATABASE_URL).toBe('postgres://chat:${POSTGRES_PASSWORD:-chat}@postgres:5432/chat');
    expect(chat.environment?.HTTP_PORT).toBe('9400');
    expect(chat.environment?.HTTP_HOST).toBe('0.0.0.0');
  });

  test('publishes the line protocol, and health and metrics on loopback only', () => {
    expect(chat.ports).toEqual(['${CHAT_PORT:-4400}:4400', '127.0.0.1:${CHAT_HTTP_PORT:-9400}:9400']);
  });
});
