import { Module } from '@nestjs/common';
import { DEFAULT_DATABASE_CONNECT, SETTINGS, Settings } from '../../config/settings';
import { Logger, LOGGER } from '../../logging/logger';
import type { ClusterConnection } from './cluster-connection';

/** Injection token: this instance's `ClusterConnection`, or `null` when the server runs alone. */
export const CLUSTER = Symbol('ClusterConnection');

/**
 * The shared state of a cluster (Redis): imported by the modules whose state is shared (presence,
 * limits, federation's links). Without `cluster.redisUrl` it provides `null` and opens nothing.
 * Redis is reached with the database's retry policy (`database.connectRetries`, `…RetryDelayMs`).
 */
@Module({
  providers: [
    {
      provide: CLUSTER,
      inject: [SETTINGS, LOGGER],
      useFactory: async (settings: Settings, logger: Logger): Promise<ClusterConnection | null> => {
        if (!settings.cluster) return null;
        // Loaded here, so that a server alone never loads the Redis client.
        const { ClusterConnection } = await import('./cluster-connection');
        const cluster = new ClusterConnection(settings.cluster, settings.hostname, logger.child({ context: 'Cluster' }));
        await cluster.open({
          retries: settings.database.connectRetries ?? DEFAULT_DATABASE_CONNECT.retries,
          retryDelayMs: settings.database.connectRetryDelayMs ?? DEFAULT_DATABASE_CONNECT.retryDelayMs,
        });
        return cluster;
      },
    },
  ],
  exports: [CLUSTER],
})
export class ClusterModule {}
