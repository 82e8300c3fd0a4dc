/**
 * How the channels of one server stay the same on every instance of a cluster. Each change is
 * stored first, then handed to the replication, which brings it to every instance, this one
 * included, in one order; each instance then applies it (`ChannelsService.applyCreated`, …).
 * A server alone has none: it applies its changes at once.
 */
export interface ChannelReplication {
  /** A channel was stored; resolves once it was offered to the other instances (it reaches them, later if need be). */
  created(id: number, name: string): Promise<void>;
  /** A membership was stored; resolves once it was offered to the other instances (it reaches them, later if need be). */
  joined(channel: string, member: string): Promise<void>;
  /** A message to deliver everywhere, here too once it comes back in order; rejects when it cannot be sent. */
  posted(channel: string, from: string, message: string): Promise<void>;
  /** Resolves once every change acknowledged anywhere before the call has been applied here. */
  caughtUp(): Promise<void>;
}
