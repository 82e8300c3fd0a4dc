import { Command } from './command';
import { Frame } from './line-framer';

/** How long after a command cut by the idle flush its rest may still arrive. */
export const COMPLETION_WINDOW_MS = 5000;
/** A rest that looks like a command word of its own (`QUIT`, `PING`) is not taken as the end of another line. */
const COMMAND_WORD = /^[A-Z][A-Z0-9-]*$/;

interface Cut {
  readonly bytes: Buffer;
  readonly command: Command;
  readonly at: number;
}

/**
 * Commands of never-LF clients that the idle flush may have cut in two (docs/PROTOCOL.md §1, "A
 * command cut in two"): a client that writes `REGISTER vic hunter2` with no LF, and whose bytes
 * arrive as `REGISTER vic hun` and, more than `idleFlushMs` later, `ter2`. Such a client sends its
 * next command only after the reply to this one, so a next segment that is no command of its own
 * and arrives soon after is the rest of this line.
 */
export class CutCommands {
  private readonly open = new WeakMap<object, Cut>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Remembers a completable command that the idle flush took and that succeeded. */
  remember(connection: object, frame: Frame, command: Command): void {
    if (frame.kind === 'line' && frame.flushed) this.open.set(connection, { bytes: frame.bytes, command, at: this.now() });
  }

  /** Forgets the connection's cut command, and returns it if it is still recent. */
  take(connection: object): Cut | undefined {
    const cut = this.open.get(connection);
    if (!cut) return undefined;
    this.open.delete(connection);
    return this.now() - cut.at <= COMPLETION_WINDOW_MS ? cut : undefined;
  }

  /** The whole line, when `frame` (not a command of its own) can be the rest of `cut`. */
  static joined(cut: Cut, frame: Frame): Frame | undefined {
    if (frame.kind !== 'line' || COMMAND_WORD.test(frame.bytes.toString('latin1'))) return undefined;
    return { kind: 'line', bytes: Buffer.concat([cut.bytes, frame.bytes]) };
  }
}
