import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const read = (name: string) => readFileSync(join(ROOT, name), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
}

/** A program on the PATH (or in /usr/sbin, where Debian puts haproxy), or undefined. */
function installed(name: string): string | undefined {
  for (const directory of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin'].filter(Boolean)) {
    try {
      accessSync(join(directory, name), constants.X_OK);
      return join(directory, name);
    } catch {
      // not in this directory
    }
  }
  return undefined;
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

  test('makes the template for new embedded databases in the image, after the build is copied', () => {
    const template = runtime.indexOf('RUN node dist/embedded-template.js');
    expect(template).toBeGreaterThan(runtime.indexOf('COPY --from=build /app/dist ./dist'));
    expect(template).toBeLessThan(runtime.indexOf('USER node'));
  });

  test("sets malloc's arenas and trim threshold as npm start does", () => {
    expect(runtime).toMatch(/^ {4}MALLOC_ARENA_MAX=2 \\$/m);
    expect(runtime).toMatch(/^ {4}MALLOC_TRIM_THRESHOLD_=131072 \\$/m);
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start;
    expect(start).toContain(
      'MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-131072} node dist/main.js',
    );
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
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, ComposeService>;
    volumes: Record<string, unknown>;
  };
  const { postgres, redis, haproxy } = compose.services;
  const servers = Object.entries(compose.services).filter(([name]) => /^chat\d+$/.test(name));
  const balancerAddress = (haproxy.networks as Record<string, { ipv4_address: string }>).chat.ipv4_address;

  test('runs PostgreSQL 16 on a named volume, with a health check', () => {
    expect(postgres.image).toBe('postgres:16');
    const [volume] = postgres.volumes ?? [];
    expect(volume).toBe('pgdata:/var/lib/postgresql/data');
    expect(Object.keys(compose.volumes)).toEqual(['pgdata', 'redisdata']);
    expect(postgres.healthcheck?.test.join(' ')).toContain('pg_isready');
  });

  test('runs Redis with the append-only file written on every write, on a named volume, with a health check', () => {
    expect(redis.image).toBe('redis:7');
    expect(redis.command).toEqual(['redis-server', '--appendonly', 'yes', '--appendfsync', 'always']);
    expect(redis.volumes).toEqual(['redisdata:/data']);
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  test('runs three servers from one image, each starting once PostgreSQL and Redis are healthy, each checked', () => {
    expect(servers.map(([name]) => name)).toEqual(['chat1', 'chat2', 'chat3']);
    for (const [, server] of servers) {
      expect(server.image).toBe('chat-server:latest');
      expect(server.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
      expect(server.healthcheck?.test).toEqual(['CMD', 'node', 'dist/healthcheck.js']);
    }
  });

  test('configures every server for the shared database and Redis, with its own instance id', () => {
    for (const [name, server] of servers) {
      expect(server.environment).toMatchObject({
        DATABASE_URL: 'postgres://chat:${POSTGRES_PASSWORD:-chat}@postgres:5432/chat',
        REDIS_URL: 'redis://redis:6379',
        INSTANCE_ID: name,
        HTTP_PORT: '9400',
        HTTP_HOST: '0.0.0.0',
      });
    }
  });

  test("servers trust PROXY headers from HAProxy's fixed address only", () => {
    expect(balancerAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    for (const [, server] of servers) expect(server.environment?.PROXY_PROTOCOL_FROM).toBe(balancerAddress);
  });

  test('HAProxy 2.6 runs deploy/haproxy.cfg and alone publishes the line protocol', () => {
    expect(haproxy.image).toBe('haproxy:2.6');
    expect(haproxy.volumes).toEqual(['./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro']);
    expect(haproxy.ports).toEqual(['${CHAT_PORT:-4400}:4400']);
  });

  test('each server publishes only health and metrics, on loopback', () => {
    servers.forEach(([, server], index) => {
      expect(server.ports).toEqual([`127.0.0.1:\${CHAT${index + 1}_HTTP_PORT:-940${index + 1}}:9400`]);
    });
  });

  const dockerCompose = installed('docker-compose');
  (dockerCompose ? test : test.skip)('docker-compose config -q accepts it (skipped without docker-compose)', () => {
    expect(() => execFileSync(dockerCompose as string, ['config', '-q'], { cwd: ROOT, stdio: 'pipe' })).not.toThrow();
  });
});

describe('deploy/haproxy.cfg', () => {
  const config = read('deploy/haproxy.cfg');
  const lines = config.split('\n').map((line) => line.trim());
  const composeServers = Object.keys(
    (parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, unknown> }).services,
  ).filter((name) => /^chat\d+$/.test(name));

  test('passes TCP through from port 4400, to one server line per compose server', () => {
    expect(lines).toContain('mode tcp');
    expect(lines).toContain('bind :4400');
    const servers = lines.filter((line) => line.startsWith('server '));
    expect(servers).toEqual(composeServers.map((name) => `server ${name} ${name}:4400`));
  });

  test('sends a PROXY v2 header and checks GET /readyz on the HTTP port, expecting 200', () => {
    const defaults = lines.find((line) => line.startsWith('default-server ')) ?? '';
    expect(defaults.split(' ')).toEqual(expect.arrayContaining(['send-proxy-v2', 'check', 'port', '9400']));
    expect(lines).toEqual(
      expect.arrayContaining(['option httpchk', 'http-check send meth GET uri /readyz', 'http-check expect status 200']),
    );
  });

  test('keeps quiet chat connections for an hour, with TCP keep-alive on both sides', () => {
    expect(lines).toEqual(
      expect.arrayContaining(['timeout client 1h', 'timeout server 1h', 'option clitcpka', 'option srvtcpka']),
    );
  });

  const haproxy = installed('haproxy');
  (haproxy ? test : test.skip)('haproxy -c accepts it (skipped without haproxy)', () => {
    expect(() =>
      execFileSync(haproxy as string, ['-c', '-f', join(ROOT, 'deploy', 'haproxy.cfg')], { stdio: 'pipe' }),
    ).not.toThrow();
  });
});
