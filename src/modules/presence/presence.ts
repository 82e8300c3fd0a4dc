import { Injectable } from '@nestjs/common';
import { DerivedFromMembers } from '../../domain/member-set';
import { Reply } from '../../transport/replies';
import { Session } from '../../transport/session';
import { PresenceEvents } from './presence-events';

/**
 * Who is online and where, and delivery of lines to them: the one place that decides whether a
 * user is online. Modules talk to users only through this provider, so a shared implementation
 * (one presence for several instances) can replace the local one. Its decisions are asynchronous
 * for that reason; what the SAY hot path needs (`sessionOf`, `deliver`) is synchronous and
 * concerns this process only.
 */
export abstract class Presence {
  /** Users coming online and going offline. */
  readonly events = new PresenceEvents();
  /** Marks `session` as `user`; false when that user is already online on another session. */
  abstract attach(session: Session, user: string): Promise<boolean>;
  /** Forgets the session's user, if any. */
  abstract detach(session: Session): Promise<void>;
  /** Whether `user` is logged in anywhere this presence knows of. */
  abstract isOnline(user: string): Promise<boolean>;
  /** The session of this process `user` is logged in on, if any. */
  abstract sessionOf(user: string): Session | undefined;
  /**
   * Sends `reply` to each of `users` that is online here; other names (`name@host`) are skipped.
   * For a `MemberSet` (a channel's members), the sessions found are kept and used again until the
   * set or who is online here changes.
   */
  abstract deliver(users: Iterable<string>, reply: Reply): void;
  /** How many users are logged in here now. */
  abstract get online(): number;
  /** Lines handed to local sessions by `deliver` since start. */
  abstract get delivered(): number;
}

/** Presence for one server process: a map from user name to its live session. */
@Injectable()
export class LocalPresence extends Presence {
  private readonly sessions = new Map<string, Session>();
  /**
   * The sessions of a channel's members online here, found again only after either changed: a
   * user coming online or going offline clears them all, so a closed session is never kept.
   */
  private readonly recipients = new DerivedFromMembers((members) => this.find(members));
  private deliveredCount = 0;

  // The check and the claim happen in one synchronous step, so two LOGINs of one name cannot both win.
  attach(session: Session, user: string): Promise<boolean> {
    if (this.sessions.has(user)) return Promise.resolve(false);
    this.sessions.set(user, session);
    this.recipients.clear();
    session.user = user;
    this.events.emit('userOnline', { user });
    return Promise.resolve(true);
  }

  detach(session: Session): Promise<void> {
    const { user } = session;
    session.user = undefined;
    if (user !== undefined && this.sessions.get(user) === session) {
      this.sessions.delete(user);
      this.recipients.clear();
      this.events.emit('userOffline', { user });
    }
    return Promise.resolve();
  }

  isOnline(user: string): Promise<boolean> {
    return Promise.resolve(this.sessions.has(user));
  }

  sessionOf(user: string): Session | undefined {
    return this.sessions.get(user);
  }

  deliver(users: Iterable<string>, reply: Reply): void {
    // One reply object for every member: the transport encodes it once and shares the bytes.
    const sessions = this.recipients.of(users);
    for (const session of sessions) session.send(reply);
    this.deliveredCount += sessions.length;
  }

  private find(users: Iterable<string>): Session[] {
    const found: Session[] = [];
    for (const user of users) {
      const session = this.sessions.get(user);
      if (session) found.push(session);
    }
    return found;
  }

  get online(): number {
    return this.sessions.size;
  }

  get delivered(): number {
    return this.deliveredCount;
  }

  /** Every session with a user logged in here. */
  protected localSessions(): Session[] {
    return [...this.sessions.values()];
  }
}
