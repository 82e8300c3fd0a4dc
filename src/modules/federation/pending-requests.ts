import { Qualified } from '../../domain/qualified-names';
import { Session } from '../../transport/session';

interface PendingJoin {
  readonly settle: (joined: boolean) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * A remote SAY of a local user, from its FEDSAY until `requestTimeoutMs` later. Its outcome is
 * the sender's own FEDRECV (or FEDCAST) echo, or a FEDRESULT refusing it; until it expires it
 * also vouches for the other members' copies of the message, which name the sender bare.
 */
export interface PendingSay {
  readonly user: string;
  readonly host: string;
  readonly channel: string;
  readonly message: string;
  /** The sender's session, held open until the outcome (or the timeout). */
  readonly session?: Session;
  /** Settles when the sender is released: the outcome came, the time is up, or the session closed. */
  readonly settled: Promise<void>;
  readonly expiresAt: number;
  /** The echo or a FEDRESULT … 1 came: the sender is released, the entry still vouches. */
  confirmed: boolean;
}

interface Say extends PendingSay {
  readonly release: () => void;
  /** Set while the sender is held: releases it at the timeout. */
  timer?: NodeJS.Timeout;
}

/** JOINs timed out are remembered this long (as long again as they waited), for a late FEDRESULT. */
const LATE_JOINS_MAX = 10_000;

/**
 * Requests of local users waiting on a peer: a FEDRESULT or an echo from a peer is accepted only
 * when it answers one of these. Kept by user, so a request of a user whose session is gone still
 * has something to match until its timeout.
 */
export class PendingRequests {
  private readonly joins = new Map<string, PendingJoin>();
  /** JOINs that timed out, to the time until which a late FEDRESULT … 1 still counts. */
  private readonly lateJoins = new Map<string, number>();
  private readonly says = new Map<string, Say[]>();
  /** When the SAYs of every user are next checked for expiry (those of a user are, whenever used). */
  private sweepAt = 0;

  /** `timeoutMs` is read for each request, so a reloaded `federation.requestTimeoutMs` applies to the next one. */
  constructor(private readonly timeout: () => number) {}

  private get timeoutMs(): number {
    return this.timeout();
  }

  /** Waits for the answer to a JOIN; undefined when the same JOIN is already waiting. */
  join(user: string, channel: Qualified): Promise<boolean> | undefined {
    const key = joinKey(user, channel);
    if (this.joins.has(key)) return undefined;
    this.lateJoins.delete(key);
    return new Promise<boolean>((settle) => {
      const timer = setTimeout(() => {
        this.settleJoin(key);
        if (this.lateJoins.size >= LATE_JOINS_MAX) this.lateJoins.delete(this.lateJoins.keys().next().value as string);
        this.lateJoins.set(key, Date.now() + this.timeoutMs);
      }, this.timeoutMs);
      this.joins.set(key, { settle, timer });
    });
  }

  /**
   * Takes the JOIN a FEDRESULT answers: its settle function when it is waiting, `late` when it
   * timed out a short while ago, undefined when there is none.
   */
  takeJoin(user: string, channel: Qualified): ((joined: boolean) => void) | 'late' | undefined {
    const key = joinKey(user, channel);
    const pending = this.joins.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.joins.delete(key);
      return pending.settle;
    }
    const until = this.lateJoins.get(key);
    if (until === undefined) return undefined;
    this.lateJoins.delete(key);
    return until >= Date.now() ? 'late' : undefined;
  }

  /** Fails every JOIN waiting on `host` (its link went down). */
  failJoinsTo(host: string): void {
    for (const key of [...this.joins.keys()]) if (key.endsWith(`\n${host}`)) this.settleJoin(key);
  }

  private settleJoin(key: string): void {
    const pending = this.joins.get(key);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.joins.delete(key);
    pending.settle(false);
  }

  /** Records a SAY about to be sent to `channel`'s server; `settled` settles with its outcome or timeout. */
  say(user: string, channel: Qualified, message: string, session?: Session): PendingSay {
    let release!: () => void;
    const settled = new Promise<void>((resolve) => (release = resolve));
    const say: Say = {
      user,
      host: channel.host,
      channel: channel.name,
      message,
      session,
      settled,
      expiresAt: Date.now() + this.timeoutMs,
      confirmed: false,
      release,
    };
    say.timer = setTimeout(() => this.forget(say), this.timeoutMs);
    if (Date.now() >= this.sweepAt) {
      for (const each of [...this.says.keys()]) this.live(each);
      this.sweepAt = say.expiresAt;
    }
    this.says.set(user, [...this.live(user), say]);
    return say;
  }

  /**
   * The SAY of `user` in `channel` with `message` that a line naming `user` bare as its sender
   * echoes, if one is pending; `confirm` (the sender's own copy) releases the oldest one not yet
   * confirmed.
   */
  echo(user: string, channel: Qualified, message: string, confirm: boolean): PendingSay | undefined {
    const matches = this.live(user).filter(
      (say) => say.host === channel.host && say.channel === channel.name && say.message === message,
    );
    const say = matches.find((each) => !each.confirmed) ?? matches[0];
    if (say && confirm) this.confirm(say);
    return say;
  }

  /**
   * The SAY a `FEDRESULT <user> SAY …` from `host` answers: the oldest not yet confirmed (in
   * `channel` when the line names it), else the oldest still remembered.
   */
  answerSay(user: string, host: string, channel?: string): PendingSay | undefined {
    const matches = this.live(user).filter((say) => say.host === host && (channel === undefined || say.channel === channel));
    return matches.find((say) => !say.confirmed) ?? matches[0];
  }

  /** The outcome came: the sender is released; the SAY still vouches for its echoes until it expires. */
  confirm(say: PendingSay): void {
    say.confirmed = true;
    this.unhold(say as Say);
  }

  /** Drops a SAY: refused, timed out, or its link went down. */
  forget(say: PendingSay): void {
    const says = this.says.get(say.user);
    const index = says ? says.indexOf(say as Say) : -1;
    if (!says || index === -1) return;
    says.splice(index, 1);
    if (says.length === 0) this.says.delete(say.user);
    this.unhold(say as Say);
  }

  /** Whether those messages arrived cannot be known any more: the senders are released, told nothing. */
  forgetSaysTo(host: string): void {
    for (const says of [...this.says.values()]) for (const say of says.filter((each) => each.host === host)) this.forget(say);
  }

  /** A connection closed: nothing it was owed can reach it; its SAYs still vouch for their echoes. */
  sessionClosed(session: Session): void {
    for (const says of this.says.values()) for (const say of says) if (say.session === session) this.unhold(say);
  }

  /** `user`'s SAYs that have not expired; the others are dropped. */
  private live(user: string): Say[] {
    const says = this.says.get(user);
    if (!says) return [];
    const now = Date.now();
    const live = says.filter((say) => say.expiresAt > now);
    if (live.length === says.length) return says;
    for (const say of says) if (say.expiresAt <= now) this.unhold(say);
    if (live.length === 0) this.says.delete(user);
    else this.says.set(user, live);
    return live;
  }

  private unhold(say: Say): void {
    clearTimeout(say.timer);
    say.timer = undefined;
    say.release();
  }
}

function joinKey(user: string, channel: Qualified): string {
  return `${user}\n${channel.name}\n${channel.host}`;
}
