import { Injectable } from '@nestjs/common';
import { Reply } from '../../transport/replies';
import { Session } from '../../transport/session';
import { PresenceEvents } from './presence-events';

/**
 * Who is online, and delivery of lines to them. Modules talk to users only through this
 * provider, so a shared implementation can replace the local one.
 */
export abstract class Presence {
  /** Users coming online and going offline. */
  readonly events = new PresenceEvents();
  /** Marks `session` as `user`; false when that user is already online on another session. */
  abstract attach(session: Session, user: string): boolean;
  /** Forgets the session's user, if any. */
  abstract detach(session: Session): void;
  /** The session `user` is logged in on, if any. */
  abstract sessionOf(user: string): Session | undefined;
  /** Sends `reply` to each of `users` that is online here; other names (`name@host`) are skipped. */
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
  private deliveredCount = 0;

  attach(session: Session, user: string): boolean {
    if (this.sessions.has(user)) return false;
    this.sessions.set(user, session);
    session.user = user;
    this.events.emit('userOnline', { user });
    return true;
  }

  detach(session: Session): void {
    const { user } = session;
    session.user = undefined;
    if (user === undefined || this.sessions.get(user) !== session) return;
    this.sessions.delete(user);
    this.events.emit('userOffline', { user });
  }

  sessionOf(user: string): Session | undefined {
    return this.sessions.get(user);
  }

  deliver(users: Iterable<string>, reply: Reply): void {
    let delivered = 0;
    for (const user of users) {
      const session = this.sessions.get(user);
      if (!session) continue;
      // One reply object for every member: the transport encodes it once and shares the bytes.
      session.send(reply);
      delivered++;
    }
    this.deliveredCount += delivered;
  }

  get online(): number {
    return this.sessions.size;
  }

  get delivered(): number {
    return this.deliveredCount;
  }
}
