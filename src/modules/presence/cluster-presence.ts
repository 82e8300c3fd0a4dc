import { Logger } from '../../logging/logger';
import { Session } from '../../transport/session';
import { ClusterConnection } from '../cluster/cluster-connection';
import { ALIVE_PREFIX } from '../cluster/instance-lease';
import { LocalPresence } from './presence';

const LOGIN_PREFIX = 'chat:login:';

/**
 * Claims `chat:login:<user>` for ARGV[1] (`<instance>:<epoch>`) unless a live holder has it: the
 * holder's lease key `chat:alive:<holder>` still exists. 1 when claimed, 0 when held elsewhere.
 */
const CLAIM = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] and redis.call('EXISTS', ARGV[2] .. holder) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1`;

/** Deletes `chat:login:<user>` if ARGV[1] still holds it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** 1 when `chat:login:<user>` has a live holder. */
const ONLINE = `
local holder = redis.call('GET', KEYS[1])
if holder and redis.call('EXISTS', ARGV[1] .. holder) == 1 then return 1 end
return 0`;

/**
 * Presence for an instance of a cluster: a user is online on at most one session of all
 * instances. LOGIN claims the user's key in Redis for this instance's lease; logout and
 * disconnect release it; an instance that dies releases all of its users when its lease expires.
 * While Redis cannot be asked, LOGIN fails. Sessions and delivery stay local, as in
 * `LocalPresence`; what must reach users of other instances goes over the bus.
 */
export class ClusterPresence extends LocalPresence {
  /** Users whose LOGIN is being claimed here, so two LOGINs of one name here cannot both win. */
  private readonly claiming = new Set<string>();
  /** Releases that failed (Redis was down), retried until they succeed or the lease is lost. */
  private readonly unreleased = new Map<string, string>();
  private retryTimer?: NodeJS.Timeout;

  constructor(
    private readonly cluster: ClusterConnection,
    private readonly log: Logger,
  ) {
    super();
    cluster.lease.onLost(() => this.dropEveryone());
    cluster.onReconnect(() => void this.reclaim());
  }

  override async attach(session: Session, user: string): Promise<boolean> {
    if (this.sessionOf(user) || this.claiming.has(user) || !this.cluster.lease.held) return false;
    this.claiming.add(user);
    try {
      const holder = this.cluster.lease.holder;
      const claimed = await this.cluster.commands.script(CLAIM, [LOGIN_PREFIX + user], [holder, ALIVE_PREFIX]);
      if (claimed !== 1) return false;
      this.unreleased.delete(user);
      // The lease may have been lost while Redis answered. (A session that closes meanwhile is
      // detached after this command: the transport runs its close after the commands it sent.)
      if (holder !== this.cluster.lease.holder) {
        this.release(user, holder);
        return false;
      }
      return await super.attach(session, user);
    } catch (error) {
      this.log.warn(`LOGIN of ${user} failed: the cluster's presence cannot be asked (${(error as Error).message})`);
      return false;
    } finally {
      this.claiming.delete(user);
    }
  }

  override async detach(session: Session): Promise<void> {
    const { user } = session;
    const wasHere = user !== undefined && this.sessionOf(user) === session;
    await super.detach(session);
    if (wasHere) this.release(user, this.cluster.lease.holder);
  }

  override async isOnline(user: string): Promise<boolean> {
    if (this.sessionOf(user)) return true;
    return (await this.cluster.commands.script(ONLINE, [LOGIN_PREFIX + user], [ALIVE_PREFIX])) === 1;
  }

  private release(user: string, holder: string): void {
    this.cluster.commands.script(RELEASE, [LOGIN_PREFIX + user], [holder]).then(
      () => this.unreleased.delete(user),
      () => {
        this.unreleased.set(user, holder);
        this.retryTimer ??= setTimeout(() => this.retryReleases(), 1000);
      },
    );
  }

  private retryReleases(): void {
    this.retryTimer = undefined;
    for (const [user, holder] of this.unreleased) {
      if (holder.split(':')[1] !== this.cluster.lease.holder.split(':')[1]) this.unreleased.delete(user);
      else this.release(user, holder);
    }
  }

  /**
   * Redis is back: claims it lost (it restarted without persistence) are made again. A user
   * another instance let in meanwhile keeps that session; the one here is closed.
   */
  private async reclaim(): Promise<void> {
    await this.cluster.lease.renewNow();
    const holder = this.cluster.lease.holder;
    for (const session of this.localSessions()) {
      const user = session.user as string;
      try {
        const claimed = await this.cluster.commands.script(CLAIM, [LOGIN_PREFIX + user], [holder, ALIVE_PREFIX]);
        if (claimed !== 1) {
          this.log.warn(`${session.id}: ${user} logged in on another instance while Redis was unreachable; closing this session`);
          session.close();
        }
      } catch {
        return;
      }
    }
  }

  /** The lease is lost: other instances may let these users log in, so none may stay here. */
  private dropEveryone(): void {
    this.unreleased.clear();
    const sessions = this.localSessions();
    this.log.error(`cluster: closing ${sessions.length} client connection(s): this instance lost its lease`);
    for (const session of sessions) session.close();
  }

  /** Retries stop with the server. */
  onApplicationShutdown(): void {
    clearTimeout(this.retryTimer);
  }
}
