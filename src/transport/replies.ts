/**
 * What the server says on the wire. Handlers return these values; `serialize` is the only place
 * that turns them into protocol text.
 */
export type Reply =
  | { readonly kind: 'result'; readonly verb: string; readonly subject?: string; readonly ok: boolean }
  | { readonly kind: 'list'; readonly verb: string; readonly items: readonly string[] }
  | { readonly kind: 'recv'; readonly from: string; readonly channel: string; readonly message: string }
  | { readonly kind: 'line'; readonly words: readonly string[] };

export const Reply = {
  result(verb: string, ok: boolean, subject?: string): Reply {
    return { kind: 'result', verb, ok, subject };
  },
  list(verb: string, items: readonly string[]): Reply {
    return { kind: 'list', verb, items };
  },
  recv(from: string, channel: string, message: string): Reply {
    return { kind: 'recv', from, channel, message };
  },
  /** A server-to-server line: its words joined by single spaces (`FEDJOIN bob@a helloworld`). */
  line(...words: string[]): Reply {
    return { kind: 'line', words };
  },
};

/** One protocol line for a reply, ending with exactly one LF. */
export function serialize(reply: Reply): string {
  switch (reply.kind) {
    case 'result': {
      const subject = reply.subject ? ` ${reply.subject}` : '';
      return `RESULT ${reply.verb}${subject} ${reply.ok ? 1 : 0}\n`;
    }
    case 'list':
      return `RESULT ${reply.verb} ${reply.items.join(', ')}\n`;
    case 'recv':
      return `RECV ${reply.from} ${reply.channel} ${reply.message}\n`;
    case 'line':
      return `${reply.words.join(' ')}\n`;
  }
}
