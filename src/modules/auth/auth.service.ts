import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { compare, hash } from 'bcrypt';
import { availableParallelism } from 'node:os';
import { Repository } from 'typeorm';
import { SETTINGS, Settings } from '../../config/settings';
import { isUniqueViolation } from '../../database/unique-violation';
import { ConcurrencyLimit } from '../../domain/concurrency-limit';
import { isLoopback } from '../../domain/loopback';
import { nameRisk } from '../../domain/name-safety';
import { isValidPassword, isValidUserName } from '../../domain/names';
import { ThrottledWarnings } from '../../logging/throttled-warnings';
import { Session } from '../../transport/session';
import { CLUSTER } from '../cluster/cluster.module';
import { ClusterConnection } from '../cluster/cluster-connection';
import { localMinuteCounts, MinuteCounts, SharedMinuteCounter } from '../cluster/shared-minute-counter';
import { Presence } from '../presence/presence';
import { User } from './user.entity';

@Injectable()
export class AuthService implements OnModuleInit {
  /** Compared against when the user does not exist, so both failures take the same time. */
  private dummyHash = '';
  /**
   * Failed LOGINs per account and address (`<address> <name>`: an attacker elsewhere cannot lock
   * the owner out) and per address (spraying many accounts); counted across the cluster on an
   * instance of one.
   */
  private readonly accountFailures: MinuteCounts;
  private readonly addressFailures: MinuteCounts;
  private readonly registrations: MinuteCounts;
  /**
   * bcrypt runs on libuv's threads (four by default). One hash per core at a time keeps the cores
   * as busy as four would, and leaves the event loop a core to answer everyone else during a login
   * storm. Waiting hashes take turns by address, so one address's hundreds of LOGINs cannot starve
   * another address's one.
   */
  private readonly bcrypt = new ConcurrencyLimit(availableParallelism());
  private readonly log = new Logger('Auth');
  /** Failed and refused LOGINs, at most one line per address and kind a minute; never the password. */
  private readonly failureLog = new ThrottledWarnings((message) => this.log.warn(message));
  /** Each connection's latest account, while its password may still be completed (`completeRegistration`). */
  private readonly registeredBy = new WeakMap<Session, { name: string; passwordHash: string }>();
  /**
   * Password checks under way, by account key and by address. Until a check is known to have
   * succeeded it counts toward the limits as a failure, so guesses sent at once cannot pass a
   * limit by being checked together.
   */
  private readonly checking = new Map<string, number>();
  /** LOGINs that failed, by why: a wrong password or unknown user, or refused by a limit without checking. */
  readonly loginFailures = { credentials: 0, account: 0, address: 0 };

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly presence: Presence,
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(CLUSTER) cluster: ClusterConnection | null,
  ) {
    const counts = (name: string) => (cluster ? new SharedMinuteCounter(cluster.commands, name) : localMinuteCounts());
    this.accountFailures = counts('login-failures-account');
    this.addressFailures = counts('login-failures-address');
    this.registrations = counts('registrations');
  }

  async onModuleInit(): Promise<void> {
    this.dummyHash = await hash('not-a-password', this.settings.bcryptCost);
  }

  /**
   * Creates an account; false when the name is taken, the name or password is invalid, the
   * address registers too often, or (on an instance of a cluster) the shared counts cannot be had.
   */
  async register(session: Session, name: string, password: string): Promise<boolean> {
    const address = session.remoteAddress;
    const { registrationsPerMinute, exemptLoopback } = this.settings.limits;
    if (!(exemptLoopback && isLoopback(address))) {
      if (await reached(this.registrations, address, registrationsPerMinute)) return false;
      if (!(await recorded(this.registrations, address))) return false;
    }
    if (!isValidUserName(name) || !isValidPassword(password) || nameRisk(name) !== undefined) return false;
    if (await this.users.existsBy({ name })) return false;
    const passwordHash = await this.bcrypt.run(() => hash(password, this.settings.bcryptCost), address);
    try {
      await this.users.insert({ name, passwordHash });
      this.registeredBy.set(session, { name, passwordHash });
      return true;
    } catch (error) {
      // A concurrent REGISTER of the same name won the unique constraint.
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /**
   * Gives the account `session` has just created the password it was meant to have: its REGISTER
   * was cut in two by the idle flush (docs/PROTOCOL.md §1), and `password` is both parts. Only the
   * account this connection created, only while it still has the password of that REGISTER.
   */
  async completeRegistration(session: Session, name: string, password: string): Promise<void> {
    const created = this.registeredBy.get(session);
    this.registeredBy.delete(session);
    if (!created || created.name !== name || !isValidPassword(password)) return;
    const passwordHash = await this.bcrypt.run(() => hash(password, this.settings.bcryptCost), session.remoteAddress);
    const { affected } = await this.users.update({ name, passwordHash: created.passwordHash }, { passwordHash });
    if (affected !== 1) return;
    this.log.warn(
      `REGISTER of ${shown(name)} from ${session.remoteAddress} arrived in two parts more than idleFlushMs apart; the account's password is both parts together`,
    );
  }

  /**
   * Logs `session` in as `name`; false on bad credentials, when either side is already logged in,
   * or when this address has failed too often for this account or for any account in the last
   * minute (then without spending bcrypt time on the guess).
   */
  async login(session: Session, name: string, password: string): Promise<boolean> {
    if (session.user !== undefined) return false;
    const address = session.remoteAddress;
    const { loginFailuresPerMinute, loginFailuresPerAddressPerMinute, exemptLoopback } = this.settings.limits;
    const account = `${address} ${name}`;
    const perAddress = !(exemptLoopback && isLoopback(address));
    // Counted before the first await, so each LOGIN sees the checks of those that came before it.
    const earlier = { account: this.checks(account), address: this.checks(address) };
    this.startCheck(account, address);
    try {
      if (await reached(this.accountFailures, account, loginFailuresPerMinute - earlier.account)) {
        this.loginFailures.account++;
        this.failureLog.refuse(
          `account ${address}`,
          `LOGIN as ${shown(name)} from ${address} refused: ${loginFailuresPerMinute} failures for this account from this address in the last minute (limits.loginFailuresPerMinute)`,
        );
        return false;
      }
      if (perAddress && (await reached(this.addressFailures, address, loginFailuresPerAddressPerMinute - earlier.address))) {
        this.loginFailures.address++;
        this.failureLog.refuse(
          `address ${address}`,
          `LOGIN as ${shown(name)} from ${address} refused: ${loginFailuresPerAddressPerMinute} failures from this address in the last minute (limits.loginFailuresPerAddressPerMinute)`,
        );
        return false;
      }
      const user = isValidUserName(name) ? await this.users.findOneBy({ name }) : null;
      // Always run one bcrypt compare, so an unknown user answers as slowly as a wrong password.
      const matches = await this.bcrypt.run(() => compare(password, user?.passwordHash ?? this.dummyHash), address);
      if (!user || !matches || !isValidPassword(password)) {
        this.loginFailures.credentials++;
        this.failureLog.refuse(
          `credentials ${address}`,
          `LOGIN as ${shown(name)} from ${address} failed: ${user ? 'wrong password' : 'no such user'}`,
        );
        await recorded(this.accountFailures, account);
        if (perAddress) await recorded(this.addressFailures, address);
        return false;
      }
    } finally {
      this.endCheck(account, address);
    }
    return this.presence.attach(session, name);
  }

  private checks(key: string): number {
    return this.checking.get(key) ?? 0;
  }

  private startCheck(...keys: string[]): void {
    for (const key of keys) this.checking.set(key, this.checks(key) + 1);
  }

  private endCheck(...keys: string[]): void {
    for (const key of keys) {
      const left = this.checks(key) - 1;
      if (left > 0) this.checking.set(key, left);
      else this.checking.delete(key);
    }
  }
}

/** A user name as written in a log line: quoted and escaped, and cut if long. */
function shown(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

/** Whether `key` has `max` events in the last minute; true when the counts cannot be had (refusing is the safe side). */
async function reached(counts: MinuteCounts, key: string, max: number): Promise<boolean> {
  try {
    return (await counts.recent(key)) >= max;
  } catch {
    return true;
  }
}

/** Counts one event for `key`; false when it could not be counted. */
async function recorded(counts: MinuteCounts, key: string): Promise<boolean> {
  try {
    await counts.record(key);
    return true;
  } catch {
    return false;
  }
}
