import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { compare, hash } from 'bcrypt';
import { availableParallelism } from 'node:os';
import { Repository } from 'typeorm';
import { SETTINGS, Settings } from '../../config/settings';
import { isUniqueViolation } from '../../database/unique-violation';
import { ConcurrencyLimit } from '../../domain/concurrency-limit';
import { isLoopback } from '../../domain/loopback';
import { MinuteCounter } from '../../domain/minute-counter';
import { isValidPassword, isValidUserName } from '../../domain/names';
import { Session } from '../../transport/session';
import { Presence } from '../presence/presence';
import { User } from './user.entity';

@Injectable()
export class AuthService implements OnModuleInit {
  /** Compared against when the user does not exist, so both failures take the same time. */
  private dummyHash = '';
  private readonly loginFailures = new MinuteCounter();
  private readonly registrations = new MinuteCounter();
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
  ) {}

  async onModuleInit(): Promise<void> {
    this.dummyHash = await hash('not-a-password', this.settings.bcryptCost);
  }

  /** Creates an account; false when the name is taken, the name or password is invalid, or the address registers too often. */
  async register(session: Session, name: string, password: string): Promise<boolean> {
    const address = session.remoteAddress;
    const { registrationsPerMinute, exemptLoopback } = this.settings.limits;
    if (!(exemptLoopback && isLoopback(address))) {
      if (this.registrations.recent(address) >= registrationsPerMinute) return false;
      this.registrations.record(address);
    }
    if (!isValidUserName(name) || !isValidPassword(password)) return false;
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
    if (this.loginFailures.recent(name) >= this.settings.limits.loginFailuresPerMinute) return false;
    const user = isValidUserName(name) ? await this.users.findOneBy({ name }) : null;
    // Always run one bcrypt compare, so an unknown user answers as slowly as a wrong password.
    const matches = await this.bcrypt.run(() => compare(password, user?.passwordHash ?? this.dummyHash));
    if (!user || !matches || !isValidPassword(password)) {
      this.loginFailures.record(name);
      return false;
    }
    return this.presence.attach(session, name);
  }
}
