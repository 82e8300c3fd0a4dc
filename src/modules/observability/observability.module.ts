import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AuthModule } from '../auth/auth.module';
import { ClusterModule } from '../cluster/cluster.module';
import { FederationModule } from '../federation/federation.module';
import { PresenceModule } from '../presence/presence.module';
import { ChatMetrics } from './chat-metrics';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';

/** Health (`/healthz`, `/readyz`) and Prometheus metrics (`/metrics`) over HTTP. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), FederationModule, PresenceModule, ClusterModule, AuthModule],
  controllers: [HealthController, MetricsController],
  providers: [ChatMetrics],
})
export class ObservabilityModule {}
