import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ClusterModule } from '../cluster/cluster.module';
import { FederationModule } from '../federation/federation.module';
import { PresenceModule } from '../presence/presence.module';
import { ChatMetrics } from './chat-metrics';
import { HealthChecks } from './health-checks';
import { HttpEndpoints } from './http-endpoints';

/** Health (`/healthz`, `/readyz`) and Prometheus metrics (`/metrics`) over HTTP. */
@Module({
  imports: [FederationModule, PresenceModule, ClusterModule, AuthModule],
  providers: [ChatMetrics, HealthChecks, HttpEndpoints],
})
export class ObservabilityModule {}
