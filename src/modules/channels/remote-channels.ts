import { Qualified } from '../../domain/qualified-names';

/**
 * Channels of other servers, as the channels module needs them: their names for CHANNELS, and
 * JOIN and SAY of `<channel>:<host>` for local users. Federation plugs one in; without it every
 * such request fails and CHANNELS lists only local channels.
 */
export interface RemoteChannels {
  /** `<name>:<host>` of every known channel of another server. */
  names(): readonly string[];
  /** Joins a local user to a channel of another server; false when refused or unanswered. */
  join(user: string, channel: Qualified): Promise<boolean>;
  /** Says a local user's message in a channel of another server; false when it cannot be sent. */
  say(user: string, channel: Qualified, message: string): boolean | Promise<boolean>;
}

export const NO_REMOTE_CHANNELS: RemoteChannels = {
  names: () => [],
  join: () => Promise.resolve(false),
  say: () => false,
};
