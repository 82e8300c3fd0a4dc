import { Inject, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { DatabaseLog } from '../../database/database-log';
import { TRANSPORT_STATUS, TransportStats, TransportStatus } from '../../transport/transport-status';
import { AuthService } from '../auth/auth.service';
import { CLUSTER } from '../cluster/cluster.module';
import { ClusterConnection } from '../cluster/cluster-connection';
import { PeerLinks } from '../federation/peer-links';
import { Presence } from '../presence/presence';

const EMPTY_STATS: TransportStats = {
  connectionsOpen: 0,
  connectionsOpened: 0,
  bytesReceived: 0,
  bytesSent: 0,
  commands: new Map(),
  internalErrors: new Map(),
  connectionsRefused: { capacity: 0, perAddress: 0 },
};

/**
 * The server's Prometheus metrics. Nothing on the hot path touches prom-client: the transport,
 * presence, federation and the database keep plain running totals, read here at scrape time.
 * Each server has its own registry, so several servers in one process do not mix their numbers.
 */
@Injectable()
export class ChatMetrics {
  readonly registry = new Registry();
  private stats = EMPTY_STATS;

  constructor(
    @Inject(TRANSPORT_STATUS) private readonly transport: TransportStatus,
    presence: Presence,
    links: PeerLinks,
    databaseLog: DatabaseLog,
    auth: AuthService,
    @Inject(CLUSTER) cluster: ClusterConnection | null,
  ) {
    // Node's process metrics, among them the event-loop lag (nodejs_eventloop_lag_*).
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    // Read at scrape time; prom-client calls collect() with the metric as `this`.
    const scraped = (): TransportStats => this.stats;
    new Gauge({
      name: 'chat_connections',
      help: 'Open TCP connections: clients and federation links.',
      registers,
      collect() {
        this.set(scraped().connectionsOpen);
      },
    });
    total('chat_connections_opened_total', 'TCP connections opened since start.', () => scraped().connectionsOpened);
    new Gauge({
      name: 'chat_users_logged_in',
      help: 'Users logged in on this server.',
      registers,
      collect() {
        this.set(presence.online);
      },
    });
    new Counter({
      name: 'chat_commands_total',
      help: 'Commands handled, by verb and outcome (ok, failed: a failure reply, error: the handler threw).',
      labelNames: ['verb', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const [verb, counts] of scraped().commands) {
          for (const [outcome, count] of Object.entries(counts)) this.inc({ verb, outcome }, count);
        }
      },
    });
    new Counter({
      name: 'chat_internal_errors_total',
      help: 'Unexpected errors the transport caught and logged, by stage (parse, handler, reply, deliver, flush, closed, …); the process carried on.',
      labelNames: ['stage'],
      registers,
      collect() {
        this.reset();
        for (const [stage, count] of scraped().internalErrors) this.inc({ stage }, count);
      },
    });
    new Counter({
      name: 'chat_connections_refused_total',
      help: 'Connections closed at once on arrival: at the connection cap (limits.maxConnections), or over their address limit.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        const { capacity, perAddress } = scraped().connectionsRefused;
        this.inc({ reason: 'capacity' }, capacity);
        this.inc({ reason: 'per-address' }, perAddress);
      },
    });
    new Counter({
      name: 'chat_login_failures_total',
      help: 'LOGINs that failed, by reason: credentials (unknown user or wrong password), account (limits.loginFailuresPerMinute reached for that account from that address), address (limits.loginFailuresPerAddressPerMinute reached).',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, count] of Object.entries(auth.loginFailures)) this.inc({ reason }, count);
      },
    });
    total('chat_recv_deliveries_total', 'RECV lines handed to connections of channel members.', () => presence.delivered);
    total('chat_received_bytes_total', 'Bytes read from TCP connections.', () => scraped().bytesReceived);
    total('chat_sent_bytes_total', 'Bytes written to TCP connections.', () => scraped().bytesSent);
    new Gauge({
      name: 'chat_federation_links_up',
      help: 'Peer servers with a live federation link.',
      registers,
      collect() {
        this.set(links.linksUp);
      },
    });
    total(
      'chat_database_errors_total',
      'Database queries that failed and connections that could not be opened.',
      () => databaseLog.errors,
    );
    if (cluster) {
      const bus = cluster.bus.stats;
      new Gauge({
        name: 'chat_bus_lag_seconds',
        help: 'Time between the latest bus entry read here and its append to Redis.',
        registers,
        collect() {
          this.set(bus.lagMs / 1000);
        },
      });
      total('chat_bus_published_total', 'Entries this instance appended to the cluster bus.', () => bus.published);
      total('chat_bus_received_total', 'Bus entries this instance read and applied.', () => bus.received);
      total('chat_bus_errors_total', 'Appends to and reads from the cluster bus that failed.', () => bus.errors);
      total(
        'chat_bus_gaps_total',
        'Times bus entries were missing between two reads (trimmed, or lost by Redis).',
        () => bus.gaps,
      );
      new Gauge({
        name: 'chat_cluster_ready',
        help: '1 while this instance can use the cluster: Redis answers, the bus is read, its lease is held.',
        registers,
        collect() {
          this.set(cluster.ready ? 1 : 0);
        },
      });
    }

    function total(name: string, help: string, value: () => number): void {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(value());
        },
      });
    }
  }

  /** The metrics in Prometheus' text format. */
  async render(): Promise<string> {
    this.stats = this.transport.stats();
    return this.registry.metrics();
  }
}
