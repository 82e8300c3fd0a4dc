import { DomainEvents } from '../../domain/domain-events';

/** `user` logged in on this server. */
export interface UserOnline {
  readonly user: string;
}

/** `user` logged out (its connection closed). */
export interface UserOffline {
  readonly user: string;
}

export interface PresenceEventMap {
  userOnline: UserOnline;
  userOffline: UserOffline;
}

/** Who comes and goes, for the modules that react to it (a bus, a shared presence's neighbours). */
export class PresenceEvents extends DomainEvents<PresenceEventMap> {}
