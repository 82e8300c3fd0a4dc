import { MessagePattern } from '@nestjs/microservices';
import { Reply } from './replies';

/** How the fields after a verb are read, declared by the handler that owns the verb. */
export interface CommandSyntax {
  /** Names of the fields after the verb, each one space-separated word. */
  readonly fields: readonly string[];
  /** Name of a last field that takes the rest of the line byte for byte (at least one character). */
  readonly rest?: string;
  /** The field repeated in the RESULT line (`RESULT JOIN <channel> 1`). */
  readonly subject?: string;
  /** False for a command that never fails and so has no failure reply (CHANNELS). */
  readonly canFail?: boolean;
}

/** A parsed client command, the payload every command handler receives. */
export interface Command<Args extends Record<string, string> = Record<string, string>> {
  readonly verb: string;
  readonly args: Args;
  /** The subject field as sent, when it was present and valid UTF-8. */
  readonly subject?: string;
}

/** The extras key under which a handler's syntax travels with its message pattern. */
export const SYNTAX_EXTRA = 'lineSyntax';

/**
 * Declares a handler for one protocol verb: `@Verb('JOIN', { fields: ['channel'], subject: 'channel' })`.
 * The transport reads the syntax to split the line and to build the failure reply.
 */
export function Verb(verb: string, syntax: CommandSyntax): MethodDecorator {
  return MessagePattern(verb, { [SYNTAX_EXTRA]: syntax });
}

/** `RESULT <VERB> [<subject>] 1|0` for a command. */
export function resultOf(command: Command, ok: boolean): Reply {
  return Reply.result(command.verb, ok, command.subject);
}
