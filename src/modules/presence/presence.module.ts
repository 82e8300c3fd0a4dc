import { Module } from '@nestjs/common';
import { Logger, LOGGER } from '../../logging/logger';
import { CLUSTER, ClusterModule } from '../cluster/cluster.module';
import { ClusterConnection } from '../cluster/cluster-connection';
import { ClusterPresence } from './cluster-presence';
import { LocalPresence, Presence } from './presence';
import { PresenceController } from './presence.controller';

/** Who is online: `LocalPresence` for a server alone, `ClusterPresence` for an instance of a cluster. */
@Module({
  imports: [ClusterModule],
  controllers: [PresenceController],
  providers: [
    {
      provide: Presence,
      inject: [CLUSTER, LOGGER],
      useFactory: (cluster: ClusterConnection | null, logger: Logger): Presence =>
        cluster ? new ClusterPresence(cluster, logger.child({ context: 'Presence' })) : new LocalPresence(),
    },
  ],
  exports: [Presence],
})
export class PresenceModule {}
