import { Injectable } from '@nestjs/common';
import { sortByCodePoint } from '../../domain/code-point-order';
import { MemberSet } from '../../domain/member-set';

export interface LiveChannel {
  readonly id: number;
  readonly name: string;
  /** Names of the members; the set SAY delivers to. */
  readonly members: MemberSet;
}

/**
 * The channels and their members, in memory. Loaded from the database at start and kept current
 * on CREATE and JOIN, so SAY never waits for storage.
 */
@Injectable()
export class ChannelDirectory {
  private readonly channels = new Map<string, LiveChannel>();
  private sortedNames?: readonly string[];

  get(name: string): LiveChannel | undefined {
    return this.channels.get(name);
  }

  /** How many channels this server holds. */
  get size(): number {
    return this.channels.size;
  }

  has(name: string): boolean {
    return this.channels.has(name);
  }

  add(id: number, name: string): LiveChannel {
    const channel: LiveChannel = { id, name, members: new MemberSet() };
    this.channels.set(name, channel);
    this.sortedNames = undefined;
    return channel;
  }

  /** Channel names sorted by code point. */
  names(): readonly string[] {
    this.sortedNames ??= sortByCodePoint(this.channels.keys());
    return this.sortedNames;
  }
}
