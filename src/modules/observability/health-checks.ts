import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Logger, LOGGER } from '../../logging/logger';
import { TRANSPORT_STATUS, TransportStatus } from '../../transport/transport-status';
import { CLUSTER } from '../cluster/cluster.module';
import { ClusterConnection } from '../cluster/cluster-connection';

/** How long the readiness probe waits for the database to answer `SELECT 1`. */
const DATABASE_PING_TIMEOUT_MS = 2000;

/** One check's outcome: its details, then `status`. */
export type CheckOutcome = Readonly<Record<string, unknown>> & { readonly status: 'up' | 'down' };

/**
 * A probe's answer, in the shape `@nestjs/terminus` gives (probes and dashboards read it): the
 * checks that passed under `info`, those that failed under `error`, all of them under `details`.
 */
export interface HealthReport {
  readonly status: 'ok' | 'error' | 'shutting_down';
  readonly info: Readonly<Record<string, CheckOutcome>>;
  readonly error: Readonly<Record<string, CheckOutcome>>;
  readonly details: Readonly<Record<string, CheckOutcome>>;
}

type Check = readonly [name: string, outcome: CheckOutcome];

const up = (name: string, details: Record<string, unknown> = {}): Check => [name, { ...details, status: 'up' }];
const down = (name: string, details: Record<string, unknown> = {}): Check => [name, { ...details, status: 'down' }];

/** Liveness and readiness. From the moment a shutdown begins both say `shutting_down`. */
@Injectable()
export class HealthChecks implements BeforeApplicationShutdown {
  private readonly log: Logger;
  private ready?: boolean;
  private shuttingDown = false;

  constructor(
    private readonly database: DataSource,
    @Inject(TRANSPORT_STATUS) private readonly transport: TransportStatus,
    @Inject(LOGGER) logger: Logger,
    @Inject(CLUSTER) private readonly cluster: ClusterConnection | null,
  ) {
    this.log = logger.child({ context: 'Health' });
  }

  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
  }

  /** The process is up and its event loop answers. */
  liveness(): HealthReport {
    return this.report([]);
  }

  /**
   * The line protocol is listening, the database answers and, on an instance of a cluster, Redis
   * answers, the bus is read and the instance holds its lease.
   */
  async readiness(): Promise<HealthReport> {
    const transport = this.transport.listening ? up('transport') : down('transport', { message: 'not listening' });
    const cluster = this.cluster ? [this.clusterCheck(this.cluster)] : [];
    const report = this.report([transport, await this.databaseCheck(), ...cluster]);
    this.changed(report);
    return report;
  }

  private async databaseCheck(): Promise<Check> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), DATABASE_PING_TIMEOUT_MS);
    });
    try {
      const answer = await Promise.race([this.database.query('SELECT 1').then(() => 'answered' as const), late]);
      return answer === 'answered'
        ? up('database')
        : down('database', { message: `timeout of ${DATABASE_PING_TIMEOUT_MS}ms exceeded` });
    } catch {
      return down('database');
    } finally {
      clearTimeout(timer);
    }
  }

  private clusterCheck(cluster: ClusterConnection): Check {
    if (cluster.ready) return up('cluster', { instance: cluster.instanceId });
    const problem = !cluster.commands.connected ? 'Redis unreachable' : !cluster.lease.held ? 'lease lost' : 'bus not being read';
    return down('cluster', { instance: cluster.instanceId, message: problem });
  }

  private report(checks: readonly Check[]): HealthReport {
    const pick = (status: CheckOutcome['status']) =>
      Object.fromEntries(checks.filter(([, outcome]) => outcome.status === status));
    const info = pick('up');
    const error = pick('down');
    const failed = Object.keys(error).length > 0;
    return {
      status: this.shuttingDown ? 'shutting_down' : failed ? 'error' : 'ok',
      info,
      error,
      details: { ...info, ...error },
    };
  }

  /** One log line when readiness flips, not one per probe. */
  private changed(report: HealthReport): void {
    const ready = report.status === 'ok';
    if (this.ready === ready) return;
    const first = this.ready === undefined;
    this.ready = ready;
    if (ready && !first) this.log.info('ready again');
    else if (!ready) this.log.warn({ detail: report }, 'not ready');
  }
}
