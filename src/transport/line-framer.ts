const LF = 0x0a;
const CR = 0x0d;

/**
 * A complete line (without its line ending), or the kept start of a line that was too long. A line
 * is `flushed` when no LF ended it: the idle flush or the end of input took it (a never-LF client).
 */
export type Frame =
  | { readonly kind: 'line'; readonly bytes: Buffer; readonly flushed?: true }
  | { readonly kind: 'overflow'; readonly prefix: Buffer };

/**
 * Cuts a byte stream into lines at LF (docs/PROTOCOL.md §1). Works on bytes so that a multi-byte
 * UTF-8 character split across reads is decoded only once its line is complete. A line longer
 * than `maxLineBytes` is discarded up to its LF; only its first `maxLineBytes` are kept, so the
 * buffer never holds more than the limit.
 */
export class LineFramer {
  /** The parts of a line not complete yet; none kept between lines. */
  private pending?: Buffer[];
  private pendingBytes = 0;
  private discarding = false;

  /**
   * `lineFeedSeen`: the peer has already sent an LF, for a framer that takes over from another
   * between two lines (a connection keeps none while no line is pending).
   */
  constructor(
    private readonly maxLineBytes: number,
    private lineFeedSeen = false,
  ) {}

  /** True once the peer has sent an LF: from then on its partial lines are never flushed early. */
  get isLineClient(): boolean {
    return this.lineFeedSeen;
  }

  get hasPartialLine(): boolean {
    return this.pendingBytes > 0 || this.discarding;
  }

  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      if (lf === -1) {
        this.append(chunk.subarray(start), true);
        break;
      }
      this.lineFeedSeen = true;
      this.append(chunk.subarray(start, lf), false);
      const frame = this.takeFrame();
      if (frame) frames.push(frame);
      start = lf + 1;
    }
    return frames;
  }

  /**
   * The pending bytes as one command, for a peer that has never sent an LF (idle flush, or the
   * end of its stream). A line client's partial line is dropped instead: it is not a command.
   */
  flushPartial(): Frame | undefined {
    if (this.lineFeedSeen) {
      this.reset();
      return undefined;
    }
    const frame = this.takeFrame();
    return frame?.kind === 'line' ? { ...frame, flushed: true } : frame;
  }

  private append(part: Buffer, retained: boolean): void {
    if (part.length === 0 || this.discarding) return;
    const room = this.maxLineBytes - this.pendingBytes;
    if (part.length > room) {
      this.store(part.subarray(0, room), true);
      this.discarding = true;
      return;
    }
    // A tail kept across reads is copied so it does not pin the whole socket chunk in memory.
    this.store(part, retained);
  }

  private store(part: Buffer, copy: boolean): void {
    if (part.length === 0) return;
    (this.pending ??= []).push(copy ? Buffer.from(part) : part);
    this.pendingBytes += part.length;
  }

  private takeFrame(): Frame | undefined {
    const pending = this.pending ?? [];
    const bytes = pending.length === 1 ? pending[0] : Buffer.concat(pending, this.pendingBytes);
    const overflowed = this.discarding;
    this.reset();
    if (overflowed) return { kind: 'overflow', prefix: bytes };
    const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
    if (end === 0) return undefined;
    return { kind: 'line', bytes: end === bytes.length ? bytes : bytes.subarray(0, end) };
  }

  private reset(): void {
    this.pending = undefined;
    this.pendingBytes = 0;
    this.discarding = false;
  }
}
