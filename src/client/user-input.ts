import { PendingCommand } from './display';

/** What one line typed at the prompt asks for. */
export type Action =
  | { readonly kind: 'send'; readonly line: string; readonly pending?: PendingCommand }
  | { readonly kind: 'credentials'; readonly verb: 'REGISTER' | 'LOGIN'; readonly user: string }
  | { readonly kind: 'switch'; readonly channel: string }
  | { readonly kind: 'help' }
  | { readonly kind: 'quit' }
  | { readonly kind: 'problem'; readonly message: string }
  | { readonly kind: 'nothing' };

const PROTOCOL_VERBS = new Set(['REGISTER', 'LOGIN', 'CREATE', 'JOIN', 'SAY', 'CHANNELS']);

export const HELP = [
  'commands:',
  '  /register <user>          create an account (the password is asked for, not shown)',
  '  /login <user>             log in (the password is asked for, not shown)',
  '  /create <channel>         create a channel',
  '  /join <channel>           join a channel (channel:host for a federated one)',
  '  /switch <channel>         send what you type from now on to <channel>',
  '  /say <channel> <message>  send one message to <channel>',
  '  /channels                 list the channels',
  '  /raw <line>               send a protocol line as it is',
  '  /help                     this list',
  '  /quit or /exit            leave the client (so do Ctrl-D on an empty line and Ctrl-C)',
  'Lines starting with a protocol word (REGISTER, LOGIN, CREATE, JOIN, SAY, CHANNELS) are sent as they are;',
  'other text goes to the channel chosen with /switch (start it with // to send a leading /).',
].join('\n');

/** The command a protocol line starts, for pairing its RESULT with what was asked. */
export function pendingFor(line: string): PendingCommand | undefined {
  const [verb, subject] = line.split(' ');
  if (!PROTOCOL_VERBS.has(verb) || verb === 'CHANNELS') return undefined;
  return { verb, subject: subject || undefined };
}

function send(line: string): Action {
  return { kind: 'send', line, pending: pendingFor(line) };
}

function usage(text: string): Action {
  return { kind: 'problem', message: `usage: ${text}` };
}

/** `args` is everything after the command word, unchanged: /say and /raw keep their spaces. */
function slashCommand(name: string, args: string, channel: string | undefined): Action {
  const words = args.trim() === '' ? [] : args.trim().split(/ +/);
  switch (name) {
    case 'register':
    case 'login':
      if (words.length !== 1) return usage(`/${name} <user>`);
      return { kind: 'credentials', verb: name === 'login' ? 'LOGIN' : 'REGISTER', user: words[0] };
    case 'create':
    case 'join':
      if (words.length !== 1) return usage(`/${name} <channel>`);
      return send(`${name.toUpperCase()} ${words[0]}`);
    case 'channels':
      return send('CHANNELS');
    case 'say': {
      const space = args.indexOf(' ');
      if (space <= 0 || space === args.length - 1) return usage('/say <channel> <message>');
      return send(`SAY ${args}`);
    }
    case 'switch':
      if (words.length !== 1) {
        return {
          kind: 'problem',
          message: channel ? `talking in ${channel}; usage: /switch <channel>` : 'usage: /switch <channel>',
        };
      }
      return { kind: 'switch', channel: words[0] };
    case 'raw':
      return args.trim() === '' ? usage('/raw <line>') : send(args);
    case 'help':
      return { kind: 'help' };
    case 'quit':
    case 'exit':
      return { kind: 'quit' };
    default:
      return { kind: 'problem', message: `unknown command /${name} — /help lists them` };
  }
}

/** Interprets one typed line; `channel` is the one chosen with /switch, if any. */
export function interpret(input: string, channel: string | undefined): Action {
  const line = input.replace(/\r$/, '');
  if (line.trim() === '') return { kind: 'nothing' };
  if (line.startsWith('/') && !line.startsWith('//')) {
    const space = line.indexOf(' ');
    const name = (space === -1 ? line.slice(1) : line.slice(1, space)).toLowerCase();
    return slashCommand(name, space === -1 ? '' : line.slice(space + 1), channel);
  }
  const firstWord = line.split(' ')[0];
  if (PROTOCOL_VERBS.has(firstWord)) return send(line);
  if (!channel) return { kind: 'problem', message: 'not talking in a channel: /switch <channel> first, or /help' };
  return send(`SAY ${channel} ${line.startsWith('//') ? line.slice(1) : line}`);
}
