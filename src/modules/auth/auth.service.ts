import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { compare, genSaltSync, hash } from 'bcrypt';
import { SETTINGS, Settings } from '../../config/settings';
import { hashSlots } from '../../config/thread-pool';
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
import { ChecksUnderWay } from './checks-under-way';
import { UserAccounts } from './user-accounts';

@Injectable()
export class AuthService implements OnModuleInit {
  /**
   * Compared against when the user does not exist, so both failures take the same time. Made as
   * the module starts, without holding up the start: the first LOGIN of an unknown name waits for it.
   */
  private dummyHash: Promise<string> = Promise.resolve('');
  /**
   * Failed LOGINs per account and address (`<address> <name>`: an attacker elsewhere cannot lock
   * the owner out) and per address (spraying many accounts); counted across the cluster on an
   * instance of one.
   */
  private readonly accountFailures: MinuteCounts;
  private readonly addressFailures: MinuteCounts;
  private readonly registrations: MinuteCounts;
  /**
   * bcrypt runs on libuv's threads, at most `hashSlots()` hashes handed to libuv at once (every
   * thread of the pool and one more per core; see `thread-pool.ts`). Waiting hashes take turns by
   * address, so one address's hundreds of LOGINs cannot starve another address's one.
   */
  private readonly bcrypt = new ConcurrencyLimit(hashSlots());
  private readonly log = new Logger('Auth');
  /** Failed and refused LOGINs, at most one line per address and kind a minute; never the password. */
  private readonly failureLog = new ThrottledWarnings((message) => this.log.warn(message));
  /**
   * Each connection's latest account, while its password may still be completed
   * (`completeRegistration`), and until its next LOGIN, which needs not read the hash back.
   */
  private readonly registeredBy = new WeakMap<Session, { name: string; passwordHash: string }>();
  /** Password checks under way: they count toward the limits until they are known to have succeeded. */
  private readonly checks = new ChecksUnderWay();
  /** LOGINs that failed, by why: a wrong password or unknown user, or refused by a limit without checking. */
  readonly loginFailures = { credentials: 0, account: 0, address: 0 };

  constructor(
    private readonly users: UserAccounts,
    private readonly presence: Presence,
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(CLUSTER) cluster: ClusterConnection | null,
  ) {
    const counts = (name: string) => (cluster ? new SharedMinuteCounter(cluster.commands, name) : localMinuteCounts());
    this.accountFailures = counts('login-failures-account');
    this.addressFailures = counts('login-failures-address');
    this.registrations = counts('registrations');
  }

  onModuleInit(): void {
    this.dummyHash = this.hash('not-a-password');
  }

  /**
   * A bcrypt hash at the configured cost. The salt is made here, synchronously (16 random bytes):
   * bcrypt's own `hash(password, cost)` makes it with two more trips through libuv's threads.
   */
  private hash(password: string): Promise<string> {
    return hash(password, genSaltSync(this.settings.bcryptCost));
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
    if (await this.users.exists(name)) return false;
    const passwordHash = await this.bcrypt.run(() => this.hash(password), address);
    // False when a concurrent REGISTER of the same name got there first.
    if (!(await this.users.create(name, passwordHash))) return false;
    this.registeredBy.set(session, { name, passwordHash });
    return true;
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
    const passwordHash = await this.bcrypt.run(() => this.hash(password), session.remoteAddress);
    if (!(await this.users.replacePasswordHash(name, created.passwordHash, passwordHash))) return;
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
    // A LOGIN is a command of its own: the REGISTER before it can no longer be completed. The
    // hash that REGISTER stored is the account's still (only that REGISTER's completion, which
    // can no longer come, may change it), so a LOGIN as the account just created needs no query.
    const registered = this.registeredBy.get(session);
    this.registeredBy.delete(session);
    if (session.user !== undefined) return false;
    const address = session.remoteAddress;
    const account = `${address} ${name}`;
    const { loginFailuresPerMinute, loginFailuresPerAddressPerMinute, exemptLoopback } = this.settings.limits;
    const keys = exemptLoopback && isLoopback(address) ? [account] : [account, address];
    const refusal = await this.admit(keys);
    if (refusal === 'account') {
      this.loginFailures.account++;
      this.failureLog.refuse(
        `account ${address}`,
        `LOGIN as ${shown(name)} from ${address} refused: ${loginFailuresPerMinute} failures for this account from this address in the last minute (limits.loginFailuresPerMinute)`,
      );
      return false;
    }
    if (refusal === 'address') {
      this.loginFailures.address++;
      this.failureLog.refuse(
        `address ${address}`,
        `LOGIN as ${shown(name)} from ${address} refused: ${loginFailuresPerAddressPerMinute} failures from this address in the last minute (limits.loginFailuresPerAddressPerMinute)`,
      );
      return false;
    }
    try {
      const stored = !isValidUserName(name)
        ? undefined
        : registered?.name === name
          ? registered.passwordHash
          : await this.users.passwordHashOf(name);
      // Always run one bcrypt compare, so an unknown user answers as slowly as a wrong password.
      const matches = await this.bcrypt.run(async () => compare(password, stored ?? (await this.dummyHash)), address);
      if (stored === undefined || !matches || !isValidPassword(password)) {
        this.loginFailures.credentials++;
        this.failureLog.refuse(
          `credentials ${address}`,
          `LOGIN as ${shown(name)} from ${address} failed: ${stored === undefined ? 'no such user' : 'wrong password'}`,
        );
        await recorded(this.accountFailures, account);
        if (keys.length > 1) await recorded(this.addressFailures, address);
        return false;
      }
    } finally {
      this.checks.end(keys);
    }
    return this.presence.attach(session, name);
  }

  /**
   * Starts a password check under `keys` (the account from this address, then the address unless
   * it is exempt), or says which limit refuses it. A LOGIN that would reach a limit only if the
   * checks under way all fail waits for one of them to end and looks again, so guesses sent at once
   * stop exactly at the limit while LOGINs that succeed are only delayed, never refused.
   */
  private async admit(keys: readonly string[]): Promise<'account' | 'address' | undefined> {
    const { loginFailuresPerMinute, loginFailuresPerAddressPerMinute } = this.settings.limits;
    const limits = [loginFailuresPerMinute, loginFailuresPerAddressPerMinute];
    const counts = [this.accountFailures, this.addressFailures];
    for (;;) {
      const failures = await Promise.all(keys.map((key, index) => recent(counts[index], key)));
      const full = failures.findIndex((count, index) => count >= limits[index]);
      if (full !== -1) return full === 0 ? 'account' : 'address';
      // No await between this look and the start: the next LOGIN sees this check under way.
      const busy = keys.findIndex((key, index) => failures[index] + this.checks.count(key) >= limits[index]);
      if (busy === -1) {
        this.checks.start(keys);
        return undefined;
      }
      await this.checks.settled(keys[busy]);
    }
  }
}

/** A user name as written in a log line: quoted and escaped, and cut if long. */
function shown(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

/** Whether `key` has `max` events in the last minute; true when the counts cannot be had (refusing is the safe side). */
async function reached(counts: MinuteCounts, key: string, max: number): Promise<boolean> {
  return (await recent(counts, key)) >= max;
}

/** Events for `key` in the last minute; infinitely many when the counts cannot be had. */
async function recent(counts: MinuteCounts, key: string): Promise<number> {
  try {
    return await counts.recent(key);
  } catch {
    return Number.POSITIVE_INFINITY;
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
