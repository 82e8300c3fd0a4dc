import { Inject, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { DatabaseLog } from '../../database/database-log';
import { TRANSPORT_STATUS, TransportStats, TransportStatus } from '../../transport/transport-status';
import { PeerLinks } from '../federation/peer-links';
import { Presence } from '../presence/presence';

const EMPTY_STATS: TransportStats = {
  connectionsOpen: 0,
  connectionsOpened: 0,
  bytesReceived: 0,
  bytesSent: 0,
  commands: new Map(),
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
