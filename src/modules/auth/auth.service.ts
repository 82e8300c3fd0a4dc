import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
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
  /** Per account and per address; counted across the cluster on an instance of one. */
  private readonly loginFailures: MinuteCounts;
  private readonly registrations: MinuteCounts;
  /**
   * bcrypt runs on libuv's threads (four by default). One hash per core at a time keeps the cores
   * as busy as four would, and leaves the event loop a core to answer everyone else during a login
   * storm.
   */
  private readonly bcrypt = new ConcurrencyLimit(availableParallelism());

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly presence: Presence,
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(CLUSTER) cluster: ClusterConnection | null,
  ) {
    this.loginFailures = cluster ? new SharedMinuteCounter(cluster.commands, 'login-failures') : localMinuteCounts();
    this.registrations = cluster ? new SharedMinuteCounter(cluster.commands, 'registrations') : localMinuteCounts();
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
    const passwordHash = await this.bcrypt.run(() => hash(password, this.settings.bcryptCost));
    try {
      await this.users.insert({ name, passwordHash });
      return true;
    } catch (error) {
      // A concurrent REGISTER of the same name won the unique constraint.
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Logs `session` in as `name`; false on bad credentials or when either side is already logged in. */
  async login(session: Session, name: string, password: string): Promise<boolean> {
    if (session.user !== undefined) return false;
    // An account under attack fails fast, without spending bcrypt time on the guesses.
    if (await reached(this.loginFailures, name, this.settings.limits.loginFailuresPerMinute)) return false;
    const user = isValidUserName(name) ? await this.users.findOneBy({ name }) : null;
    // Always run one bcrypt compare, so an unknown user answers as slowly as a wrong password.
    const matches = await this.bcrypt.run(() => compare(password, user?.passwordHash ?? this.dummyHash));
    if (!user || !matches || !isValidPassword(password)) {
      await recorded(this.loginFailures, name);
      return false;
    }
    return this.presence.attach(session, name);
  }
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
