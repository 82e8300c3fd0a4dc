import { Injectable } from '@nestjs/common';
import { Reply } from '../../transport/replies';
import { Session } from '../../transport/session';

/** Delivers lines to users of other servers (`name@host`); federation provides one. */
export interface RemoteDelivery {
  deliver(users: readonly string[], reply: Reply): void;
}

/**
 * Who is online, and delivery of lines to them. Modules talk to users only through this
 * provider, so federation and a shared message bus can extend or replace it.
 */
export abstract class Presence {
  /** Marks `session` as `user`; false when that user is already online on another session. */
  abstract attach(session: Session, user: string): boolean;
  /** Forgets the session's user, if any. */
  abstract detach(session: Session): void;
  /** The session `user` is logged in on, if any. */
  abstract sessionOf(user: string): Session | undefined;
  /**
   * Sends `reply` to each of `users`: local names to their sessions when online, `name@host`
   * names through the remote delivery.
   */
  abstract deliver(users: Iterable<string>, reply: Reply): void;
  /** Plugs in delivery to other servers. */
  abstract useRemoteDelivery(remote: RemoteDelivery): void;
  /** How many users are logged in here now. */
  abstract get online(): number;
  /** Lines handed to local sessions by `deliver` since start. */
  abstract get delivered(): number;
}

/** Presence for one server process: a map from user name to its live session. */
@Injectable()
export class LocalPresence extends Presence {
  private readonly sessions = new Map<string, Session>();
  private remote?: RemoteDelivery;
  private deliveredCount = 0;

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

  sessionOf(user: string): Session | undefined {
    return this.sessions.get(user);
  }

  deliver(users: Iterable<string>, reply: Reply): void {
    let remoteUsers: string[] | undefined;
    let delivered = 0;
    for (const user of users) {
      const session = this.sessions.get(user);
      if (session) {
        // One reply object for every member: the transport encodes it once and shares the bytes.
        session.send(reply);
        delivered++;
      } else if (user.includes('@')) (remoteUsers ??= []).push(user);
    }
    this.deliveredCount += delivered;
    if (remoteUsers && this.remote) this.remote.deliver(remoteUsers, reply);
  }

  useRemoteDelivery(remote: RemoteDelivery): void {
    this.remote = remote;
  }

  get online(): number {
    return this.sessions.size;
  }

  get delivered(): number {
    return this.deliveredCount;
  }
}
