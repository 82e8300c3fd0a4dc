/**
 * What the server says on the wire, to clients and to peer servers. Modules hand these values to
 * a session (`session.send`) or return them from handlers; `serialize` is the only place that
 * turns them into protocol text.
 */
export type Reply =
  | { readonly kind: 'result'; readonly verb: string; readonly subject?: string; readonly ok: boolean }
  | { readonly kind: 'list'; readonly verb: string; readonly items: readonly string[] }
  | { readonly kind: 'recv'; readonly from: string; readonly channel: string; readonly message: string }
  | {
      readonly kind: 'handshake';
      readonly verb: 'FEDERATE-OUT' | 'FEDERATE-CONFIRM';
      readonly hostname: string;
      /** The handshake's extension (docs/PROTOCOL.md §6.2), as `key=value` words after the hostname. */
      readonly params?: readonly (readonly [string, string])[];
    }
  | { readonly kind: 'fedauth'; readonly proof: string }
  | { readonly kind: 'fedcast'; readonly from: string; readonly channel: string; readonly message: string }
  | { readonly kind: 'fedchannels'; readonly channels: readonly string[] }
  | { readonly kind: 'fednew'; readonly channel: string }
  | { readonly kind: 'fedjoin'; readonly user: string; readonly channel: string }
  | { readonly kind: 'fedsay'; readonly user: string; readonly channel: string; readonly message: string }
  | { readonly kind: 'fedrecv'; readonly to: string; readonly from: string; readonly channel: string; readonly message: string }
  | { readonly kind: 'fedresult'; readonly user: string; readonly verb: string; readonly subject?: string; readonly ok: boolean };

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
  /** `FEDERATE-OUT <hostname> [key=value…]`: a server asking the peer it dialed to become a link. */
  federateOut(hostname: string, params?: readonly (readonly [string, string])[]): Reply {
    return { kind: 'handshake', verb: 'FEDERATE-OUT', hostname, params };
  },
  /** `FEDERATE-CONFIRM <hostname> [key=value…]`: the answer of the server that accepts the link. */
  federateConfirm(hostname: string, params?: readonly (readonly [string, string])[]): Reply {
    return { kind: 'handshake', verb: 'FEDERATE-CONFIRM', hostname, params };
  },
  /** `FEDAUTH <proof>`: the dialing server's proof, the handshake's last line. */
  fedAuth(proof: string): Reply {
    return { kind: 'fedauth', proof };
  },
  /**
   * `FEDCAST <fromuser> <channel>:<host> <message…>`: one message of a channel for every member
   * the receiving server has in it (negotiated as the `cast` capability).
   */
  fedCast(from: string, channel: string, message: string): Reply {
    return { kind: 'fedcast', from, channel, message };
  },
  fedChannels(channels: readonly string[]): Reply {
    return { kind: 'fedchannels', channels };
  },
  fedNew(channel: string): Reply {
    return { kind: 'fednew', channel };
  },
  /** `user` is `name@host`, `channel` the name as the receiving server knows it (bare). */
  fedJoin(user: string, channel: string): Reply {
    return { kind: 'fedjoin', user, channel };
  },
  fedSay(user: string, channel: string, message: string): Reply {
    return { kind: 'fedsay', user, channel, message };
  },
  /** `channel` is `<name>:<host>`; `to` and `from` are written as the receiving server sees them. */
  fedRecv(to: string, from: string, channel: string, message: string): Reply {
    return { kind: 'fedrecv', to, from, channel, message };
  },
  /** The outcome of a FEDJOIN or FEDSAY, for `user` of the receiving server. */
  fedResult(user: string, verb: string, ok: boolean, subject?: string): Reply {
    return { kind: 'fedresult', user, verb, ok, subject };
  },
};

/** One protocol line for a reply, ending with exactly one LF. */
export function serialize(reply: Reply): string {
  switch (reply.kind) {
    case 'result':
      return `RESULT ${reply.verb}${subjectOf(reply.subject)} ${reply.ok ? 1 : 0}\n`;
    case 'list':
      return `RESULT ${reply.verb} ${reply.items.join(', ')}\n`;
    case 'recv':
      return `RECV ${reply.from} ${reply.channel} ${reply.message}\n`;
    case 'handshake':
      return `${reply.verb} ${reply.hostname}${(reply.params ?? []).map(([key, value]) => ` ${key}=${value}`).join('')}\n`;
    case 'fedauth':
      return `FEDAUTH ${reply.proof}\n`;
    case 'fedcast':
      return `FEDCAST ${reply.from} ${reply.channel} ${reply.message}\n`;
    case 'fedchannels':
      return `FEDCHANNELS ${reply.channels.join(', ')}\n`;
    case 'fednew':
      return `FEDNEW ${reply.channel}\n`;
    case 'fedjoin':
      return `FEDJOIN ${reply.user} ${reply.channel}\n`;
    case 'fedsay':
      return `FEDSAY ${reply.user} ${reply.channel} ${reply.message}\n`;
    case 'fedrecv':
      return `FEDRECV ${reply.to} ${reply.from} ${reply.channel} ${reply.message}\n`;
    case 'fedresult':
      return `FEDRESULT ${reply.user} ${reply.verb}${subjectOf(reply.subject)} ${reply.ok ? 1 : 0}\n`;
  }
}

function subjectOf(subject: string | undefined): string {
  return subject ? ` ${subject}` : '';
}

/** A reply's protocol line and its length in bytes. */
export interface EncodedLine {
  readonly text: string;
  readonly bytes: number;
}

/** The reply encoded last, and its line: a fan-out hands the same reply to every member in turn. */
let lastReply: Reply | undefined;
let lastLine: EncodedLine | undefined;

/**
 * A reply's line, serialized and measured once however many sessions it is sent to in a row: a
 * RECV fanned out to a channel's members, or a FEDNEW to every peer, shares one string. Only the
 * last reply is remembered: a cache of every reply (a WeakMap) cost a hash lookup per member.
 */
export function encode(reply: Reply): EncodedLine {
  if (reply === lastReply && lastLine) return lastLine;
  const text = serialize(reply);
  const line = { text, bytes: Buffer.byteLength(text) };
  lastReply = reply;
  lastLine = line;
  return line;
}
