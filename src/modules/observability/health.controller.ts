import { Controller, Get, Inject } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { Logger, LOGGER } from '../../logging/logger';
import { CLUSTER } from '../cluster/cluster.module';
import { ClusterConnection } from '../cluster/cluster-connection';
import { TRANSPORT_STATUS, TransportStatus } from '../../transport/transport-status';

/** How long the readiness probe waits for the database to answer `SELECT 1`. */
const DATABASE_PING_TIMEOUT_MS = 2000;

@Controller()
export class HealthController {
  private readonly log: Logger;
  private ready?: boolean;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: TypeOrmHealthIndicator,
    @Inject(TRANSPORT_STATUS) private readonly transport: TransportStatus,
    @Inject(LOGGER) logger: Logger,
    @Inject(CLUSTER) private readonly cluster: ClusterConnection | null,
  ) {
    this.log = logger.child({ context: 'Health' });
  }

  // GET /healthz: the process is up and its event loop answers.
  @Get('healthz')
  @HealthCheck()
  healthz(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  // GET /readyz: the line protocol is listening, the database answers and, on an instance of a
  // cluster, Redis answers, the bus is read and the instance holds its lease; 503 otherwise.
  @Get('readyz')
  @HealthCheck()
  async readyz(): Promise<HealthCheckResult> {
    try {
      const result = await this.health.check([
        () => {
          const check = this.indicators.check('transport');
          return this.transport.listening ? check.up() : check.down({ message: 'not listening' });
        },
        () => this.database.pingCheck('database', { timeout: DATABASE_PING_TIMEOUT_MS }),
        ...(this.cluster ? [() => this.clusterCheck(this.cluster as ClusterConnection)] : []),
      ]);
      this.changed(true);
      return result;
    } catch (error) {
      this.changed(false, error);
      throw error;
    }
  }

  private clusterCheck(cluster: ClusterConnection) {
    const check = this.indicators.check('cluster');
    if (cluster.ready) return check.up({ instance: cluster.instanceId });
    const problem = !cluster.commands.connected ? 'Redis unreachable' : !cluster.lease.held ? 'lease lost' : 'bus not being read';
    return check.down({ instance: cluster.instanceId, message: problem });
  }

  /** One log line when readiness flips, not one per probe. */
  private changed(ready: boolean, error?: unknown): void {
    if (this.ready === ready) return;
    const first = this.ready === undefined;
    this.ready = ready;
    if (ready && !first) this.log.info('ready again');
    else if (!ready) this.log.warn({ detail: (error as { response?: unknown })?.response }, 'not ready');
  }
}
