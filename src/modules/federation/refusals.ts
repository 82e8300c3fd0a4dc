import { Logger } from '@nestjs/common';
import { Session } from '../../transport/session';

/** Refusals of one kind on one link are logged at most once per this window. */
export const REFUSAL_WINDOW_MS = 10_000;
/** Windows remembered before closed ones with nothing to report are swept. */
const SWEEP_ABOVE = 1000;

export type LinkRef = Pick<Session, 'id' | 'peer'>;

interface Window {
  readonly peer?: string;
  readonly until: number;
  suppressed: number;
}

/**
 * Warnings for lines a peer sent that were refused, summarized so that a flood cannot flood the
 * log: the first refusal of a kind on a link is logged; the others within `REFUSAL_WINDOW_MS` are
 * only counted, and the count goes with the next warning of that kind on that link, or is logged
 * when the link closes. A warning names the link, the peer and the line's kind, never a message.
 */
export class Refusals {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** `what` names the refused line (`FEDRECV for room:server-z`); `why` says what is wrong with it. */
  refuse(link: LinkRef, kind: string, what: string, why: string): void {
    const key = `${link.id}\n${kind}`;
    const now = this.now();
    const open = this.windows.get(key);
    if (open && open.until > now) {
      open.suppressed++;
      return;
    }
    if (!open && this.windows.size >= SWEEP_ABOVE) this.sweep(now);
    this.windows.set(key, { peer: link.peer, until: now + REFUSAL_WINDOW_MS, suppressed: 0 });
    const earlier = open?.suppressed ? ` (and ${open.suppressed} more ${kind} refused before this)` : '';
    this.log.warn(`${link.id} refused ${what} from ${link.peer}: ${why}${earlier}`);
  }

  /** A link closed: the refusals counted and not yet logged are. */
  linkClosed(link: Pick<Session, 'id'>): void {
    for (const [key, window] of this.windows) {
      const [id, kind] = key.split('\n');
      if (id !== link.id) continue;
      this.windows.delete(key);
      if (window.suppressed > 0)
        this.log.warn(`${id} refused ${window.suppressed} more ${kind} from ${window.peer} before it closed`);
    }
  }

  /** Forgets closed windows with nothing to report. */
  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.until <= now && window.suppressed === 0) this.windows.delete(key);
  }
}
