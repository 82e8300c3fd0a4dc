import { MessagePattern } from '@nestjs/microservices';
import { Reply } from './replies';
import { SessionRole } from './session';

/** How the fields after a verb are read, declared by the handler that owns the verb. */
export interface CommandSyntax {
  /** Names of the fields after the verb, each one space-separated word. */
  readonly fields: readonly string[];
  /** Name of a last field that takes the rest of the line byte for byte (at least one character). */
  readonly rest?: string;
  /** The field repeated in the RESULT line (`RESULT JOIN <channel> 1`). */
  readonly subject?: string;
  /** A rest field that may be empty or absent (`FEDERATE-OUT [<hostname>]`). */
  readonly restMayBeEmpty?: boolean;
  /** False for a command that has no failure reply (CHANNELS, and every server-to-server line). */
  readonly canFail?: boolean;
  /** Extra fields are ignored instead of refusing the line (CHANNELS). */
  readonly lenient?: boolean;
  /** Which connections may send it: clients (default), server links, or links still in their handshake. */
  readonly scope?: SessionRole;
  /**
   * A line of it that the idle flush took and that succeeded may be completed by the connection's
   * next segment, when that is not a command of its own (REGISTER: docs/PROTOCOL.md §1, "A command
   * cut in two"). The handler then gets the whole line with `completes` set, and sends no reply.
   */
  readonly completable?: boolean;
  /**
   * Its handler waits only for bcrypt and the database (REGISTER, LOGIN): it takes one of a bounded
   * number of places while it runs (`BOUNDED_COMMANDS_AT_ONCE`), so a storm of it keeps only that
   * many under way. A command that may wait on a peer or on Redis for seconds must not be bounded.
   */
  readonly bounded?: boolean;
}

/** A parsed client command, the payload every command handler receives. */
export interface Command<Args extends Record<string, string> = Record<string, string>> {
  readonly verb: string;
  readonly args: Args;
  /** The subject field as sent, when it was present and valid UTF-8. */
  readonly subject?: string;
  /** The earlier, already handled line this one completes: the idle flush had cut it in two. */
  readonly completes?: Command<Args>;
}

/** The extras key under which a handler's syntax travels with its message pattern. */
export const SYNTAX_EXTRA = 'lineSyntax';

/**
 * Declares a handler for one protocol verb (or several spellings of it):
 * `@Verb('JOIN', { fields: ['channel'], subject: 'channel' })`. The transport reads the syntax to
 * split the line, to build the failure reply, and to accept the verb only on its kind of connection.
 */
export function Verb(verb: string | readonly string[], syntax: CommandSyntax): MethodDecorator {
  return MessagePattern(typeof verb === 'string' ? verb : [...verb], { [SYNTAX_EXTRA]: syntax });
}

/** `RESULT <VERB> [<subject>] 1|0` for a command. */
export function resultOf(command: Command, ok: boolean): Reply {
  return Reply.result(command.verb, ok, command.subject);
}
