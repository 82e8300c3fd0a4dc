import { Command, CommandSyntax, resultOf } from './command';
import { Frame } from './line-framer';
import { Reply } from './replies';

const SPACE = 0x20;
const VERB = /^[A-Z][A-Z0-9-]*$/;

/**
 * `command`: a well-formed line for a known verb, with the reply to send if it fails.
 * `refused`: a known verb whose line is malformed (wrong field count, empty field, invalid
 * UTF-8, too long); it gets its failure reply without reaching a handler.
 */
export type ParseOutcome =
  | { readonly kind: 'command'; readonly command: Command; readonly failure?: Reply }
  | { readonly kind: 'refused'; readonly verb: string; readonly failure?: Reply };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decode(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Splits on single spaces into at most `limit` parts; the last part keeps any further spaces. */
function splitFields(body: Buffer, limit: number): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  while (parts.length < limit - 1) {
    const space = body.indexOf(SPACE, start);
    if (space === -1) break;
    parts.push(body.subarray(start, space));
    start = space + 1;
  }
  parts.push(body.subarray(start));
  return parts;
}

/**
 * Turns one framed line into a command for the verb's handler (docs/PROTOCOL.md §1). Lines whose
 * first word is not a registered verb are ignored: `parse` returns undefined and nothing is sent.
 */
export class CommandParser {
  constructor(private readonly syntaxOf: (verb: string) => CommandSyntax | undefined) {}

  /** `accepts` says whether the verb may be used on this connection; a verb it refuses is unknown here. */
  parse(frame: Frame, accepts: (syntax: CommandSyntax) => boolean = () => true): ParseOutcome | undefined {
    const line = frame.kind === 'line' ? frame.bytes : frame.prefix;
    const verbEnd = line.indexOf(SPACE);
    const verb = line.toString('latin1', 0, verbEnd === -1 ? line.length : verbEnd);
    if (!VERB.test(verb)) return undefined;
    const syntax = this.syntaxOf(verb);
    if (!syntax || !accepts(syntax)) return undefined;

    const arity = syntax.fields.length + (syntax.rest ? 1 : 0);
    const body = verbEnd === -1 ? undefined : line.subarray(verbEnd + 1);
    const parts = body === undefined ? [] : splitFields(body, syntax.rest ? arity : Number.MAX_SAFE_INTEGER);

    if (frame.kind === 'overflow') {
      // The last part was cut by the length limit; only the fields before it are known whole.
      return this.refuse(verb, syntax, parts.slice(0, -1));
    }
    if (syntax.lenient) {
      return { kind: 'command', command: { verb, args: {} } };
    }
    if (syntax.rest && syntax.restMayBeEmpty && parts.length === arity - 1) parts.push(Buffer.alloc(0));
    const restIndex = syntax.rest && syntax.restMayBeEmpty ? arity - 1 : -1;
    if (parts.length !== arity || parts.some((part, index) => part.length === 0 && index !== restIndex)) {
      return this.refuse(verb, syntax, parts);
    }
    const values = parts.map(decode);
    if (values.some((value) => value === undefined)) return this.refuse(verb, syntax, parts);

    const names = syntax.rest ? [...syntax.fields, syntax.rest] : syntax.fields;
    const args: Record<string, string> = {};
    names.forEach((name, index) => (args[name] = values[index] as string));
    const subject = syntax.subject === undefined ? undefined : args[syntax.subject];
    const command: Command = { verb, args, subject };
    return { kind: 'command', command, failure: syntax.canFail === false ? undefined : resultOf(command, false) };
  }

  private refuse(verb: string, syntax: CommandSyntax, parts: Buffer[]): ParseOutcome {
    if (syntax.canFail === false) return { kind: 'refused', verb };
    const index = syntax.subject === undefined ? -1 : syntax.fields.indexOf(syntax.subject);
    const subjectBytes = index === -1 ? undefined : parts[index];
    const subject = subjectBytes?.length ? decode(subjectBytes) : undefined;
    return { kind: 'refused', verb, failure: resultOf({ verb, args: {}, subject }, false) };
  }
}
