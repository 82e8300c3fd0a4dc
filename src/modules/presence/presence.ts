import { Injectable } from '@nestjs/common';
import { Reply, serialize } from '../../transport/replies';
import { Session } from '../../transport/session';

/**
 * Who is online, and delivery of lines to them. Modules talk to users only through this
 * provider, so federation and a shared message bus can extend or replace it.
 */
export abstract class Presence {
  /** Marks `session` as `user`; false when that user is already online on another session. */
  abstract attach(session: Session, user: string): boolean;
  /** Forgets the session's user, if any. */
  abstract detach(session: Session): void;
  /** Sends `reply` to each of `users` that is online; returns how many got it. */
  abstract deliver(users: Iterable<string>, reply: Reply): number;
}

/** Presence for one server process: a map from user name to its live session. */
@Injectable()
export class LocalPresence extends Presence {
  private readonly sessions = new Map<string, Session>();

  attach(session: Session, user: string): boolean {
    if (this.sessions.has(user)) return false;
    this.sessions.set(user, session);
    session.user = user;
    return true;
  }

  detach(session: Session): void {
    if (session.user !== undefined && this.sessions.get(session.user) === session) {
      this.sessions.delete(session.user);
    }
    session.user = undefined;
  }

  deliver(users: Iterable<string>, reply: Reply): number {
    const line = serialize(reply);
    let delivered = 0;
    for (const user of users) {
      const session = this.sessions.get(user);
      if (session) {
        session.deliver(line);
        delivered++;
      }
    }
    return delivered;
  }
}
