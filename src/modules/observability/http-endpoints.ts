import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { Logger, LOGGER } from '../../logging/logger';
import { ChatMetrics } from './chat-metrics';
import { HealthChecks, HealthReport } from './health-checks';

/** A probe's answer is never kept by a cache on the way. */
const NO_CACHE = { 'Cache-Control': 'no-cache, no-store, must-revalidate' };

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}): Answer => ({
  status,
  headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
  body: JSON.stringify(value),
});

const fromReport = (report: HealthReport): Answer => json(report.status === 'ok' ? 200 : 503, report, NO_CACHE);

/**
 * `/healthz`, `/readyz` and `/metrics` on Node's own HTTP server: three read-only paths need no
 * web framework. They match as a Nest controller's routes did (any case, a trailing slash, any
 * query; HEAD as GET); anything else is a 404 with Nest's JSON body.
 */
@Injectable()
export class HttpEndpoints implements BeforeApplicationShutdown {
  private readonly log: Logger;
  private server?: Server;
  private readonly routes: ReadonlyMap<string, () => Promise<Answer>>;

  constructor(health: HealthChecks, metrics: ChatMetrics, @Inject(LOGGER) logger: Logger) {
    this.log = logger.child({ context: 'Http' });
    this.routes = new Map([
      // GET /healthz: the process is up and its event loop answers.
      ['/healthz', () => Promise.resolve(fromReport(health.liveness()))],
      // GET /readyz: listening, the database answers and, on an instance of a cluster, the cluster is usable; 503 otherwise.
      ['/readyz', async () => fromReport(await health.readiness())],
      // GET /metrics: Prometheus text format.
      [
        '/metrics',
        async () => ({
          status: 200,
          headers: { 'Content-Type': Registry.PROMETHEUS_CONTENT_TYPE },
          body: await metrics.render(),
        }),
      ],
    ]);
  }

  /** Starts serving; rejects when the port cannot be had. */
  async listen(port: number, host: string): Promise<AddressInfo> {
    const server = createServer((request, response) => void this.serve(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return server.address() as AddressInfo;
  }

  /** Where it serves; undefined before `listen` and after shutdown. */
  address(): AddressInfo | undefined {
    return this.server?.listening ? (this.server.address() as AddressInfo) : undefined;
  }

  /** No new requests once a shutdown begins; those under way are answered (`shutting_down`). */
  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server?.listening) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = request.url ?? '/';
    const route = request.method === 'GET' || request.method === 'HEAD' ? this.routes.get(routePath(url)) : undefined;
    let answer: Answer;
    try {
      answer = route
        ? await route()
        : json(404, { message: `Cannot ${request.method} ${url}`, error: 'Not Found', statusCode: 404 });
    } catch (error) {
      this.log.error({ err: error, path: url }, `${request.method} ${url} failed: ${(error as Error).message}`);
      answer = json(500, { statusCode: 500, message: 'Internal server error' });
    }
    response.writeHead(answer.status, { ...answer.headers, 'Content-Length': Buffer.byteLength(answer.body) });
    response.end(answer.body);
  }
}

/** The path a request names, as routes are keyed: without its query, lower case, no trailing slash. */
function routePath(url: string): string {
  const path = url.split('?', 1)[0].toLowerCase();
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
