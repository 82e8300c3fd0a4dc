import { Frame, LineFramer } from '../../src/transport/line-framer';

const MAX = 16;

function lines(frames: Frame[]): string[] {
  return frames.map((frame) => {
    if (frame.kind !== 'line') throw new Error(`expected a line frame, got ${frame.kind}`);
    return frame.bytes.toString('utf8');
  });
}

function pushAll(framer: LineFramer, chunks: Buffer[]): Frame[] {
  return chunks.flatMap((chunk) => framer.push(chunk));
}

function byteByByte(text: string | Buffer): Buffer[] {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  return [...bytes].map((byte) => Buffer.from([byte]));
}

describe('LineFramer', () => {
  describe('splitting', () => {
    it('returns one line frame without the LF for a line ending in LF', () => {
      const framer = new LineFramer(MAX);
      expect(framer.push(Buffer.from('CHANNELS\n'))).toEqual([{ kind: 'line', bytes: Buffer.from('CHANNELS') }]);
    });

    it('drops the CR of a CRLF line ending', () => {
      const framer = new LineFramer(MAX);
      expect(lines(framer.push(Buffer.from('CHANNELS\r\n')))).toEqual(['CHANNELS']);
    });

    it('drops only one final CR, keeping an earlier one', () => {
      const framer = new LineFramer(MAX);
      expect(lines(framer.push(Buffer.from('a\rb\r\r\n')))).toEqual(['a\rb\r']);
    });

    it('keeps a CR that is not at the end of the line', () => {
      const framer = new LineFramer(MAX);
      expect(lines(framer.push(Buffer.from('a\rb\n')))).toEqual(['a\rb']);
    });

    it('drops a CRLF line ending whose CR arrived in an earlier chunk', () => {
      const framer = new LineFramer(MAX);
      expect(lines(pushAll(framer, [Buffer.from('abc\r'), Buffer.from('\n')]))).toEqual(['abc']);
    });

    it('skips empty lines', () => {
      const framer = new LineFramer(MAX);
      expect(lines(framer.push(Buffer.from('\n\na\n\n')))).toEqual(['a']);
    });

    it('skips a line holding only a CR', () => {
      const framer = new LineFramer(MAX);
      expect(lines(framer.push(Buffer.from('\r\n\r\nb\r\n')))).toEqual(['b']);
    });

    it('returns every pipelined line of one chunk, in order', () => {
      const framer = new LineFramer(MAX);
      expect(lines(framer.push(Buffer.from('one\ntwo\r\nthree\n')))).toEqual(['one', 'two', 'three']);
    });

    it('keeps the tail after the last LF of a chunk as the start of the next line', () => {
      const framer = new LineFramer(MAX);
      expect(lines(framer.push(Buffer.from('one\ntw')))).toEqual(['one']);
      expect(lines(framer.push(Buffer.from('o\n')))).toEqual(['two']);
    });

    it('returns no frame for a chunk without an LF', () => {
      const framer = new LineFramer(MAX);
      expect(framer.push(Buffer.from('partial'))).toEqual([]);
    });

    it('returns no frame for an empty chunk', () => {
      const framer = new LineFramer(MAX);
      expect(framer.push(Buffer.alloc(0))).toEqual([]);
      expect(framer.hasPartialLine).toBe(false);
    });

    it('joins a line split over several chunks', () => {
      const framer = new LineFramer(MAX);
      expect(lines(pushAll(framer, [Buffer.from('SA'), Buffer.from('Y a '), Buffer.from('hi\n')]))).toEqual(['SAY a hi']);
    });

    it('joins a line sent byte by byte', () => {
      const framer = new LineFramer(MAX);
      expect(lines(pushAll(framer, byteByByte('JOIN alpha\r\n')))).toEqual(['JOIN alpha']);
    });

    it('joins the bytes of a multi-byte UTF-8 character split across chunks', () => {
      const framer = new LineFramer(MAX);
      const kanji = Buffer.from('日', 'utf8');
      expect(kanji).toHaveLength(3);
      const frames = pushAll(framer, [Buffer.from('X '), ...byteByByte(kanji), Buffer.from('\n')]);
      expect(frames).toEqual([{ kind: 'line', bytes: Buffer.from('X 日', 'utf8') }]);
    });

    it('does not keep a reference to a caller buffer for a partial line (later changes to it do not leak in)', () => {
      const framer = new LineFramer(MAX);
      const chunk = Buffer.from('abc');
      framer.push(chunk);
      chunk.fill(0x7a);
      expect(lines(framer.push(Buffer.from('\n')))).toEqual(['abc']);
    });
  });

  describe('line length limit', () => {
    it('accepts a line of exactly maxLineBytes', () => {
      const framer = new LineFramer(MAX);
      const line = 'x'.repeat(MAX);
      expect(lines(framer.push(Buffer.from(`${line}\n`)))).toEqual([line]);
    });

    it('accepts a CRLF line whose text plus CR is exactly maxLineBytes', () => {
      const framer = new LineFramer(MAX);
      const line = 'x'.repeat(MAX - 1);
      expect(lines(framer.push(Buffer.from(`${line}\r\n`)))).toEqual([line]);
    });

    it('accepts a line of exactly maxLineBytes arriving byte by byte', () => {
      const framer = new LineFramer(MAX);
      const line = 'y'.repeat(MAX);
      expect(lines(pushAll(framer, byteByByte(`${line}\n`)))).toEqual([line]);
    });

    it('returns an overflow frame holding the first maxLineBytes bytes for a line of maxLineBytes + 1', () => {
      const framer = new LineFramer(MAX);
      const line = 'abcdefghijklmnopq';
      expect(line).toHaveLength(MAX + 1);
      expect(framer.push(Buffer.from(`${line}\n`))).toEqual([{ kind: 'overflow', prefix: Buffer.from(line.slice(0, MAX)) }]);
    });

    it('frames the line after an overflowing line normally', () => {
      const framer = new LineFramer(MAX);
      const frames = framer.push(Buffer.from(`${'z'.repeat(MAX + 5)}\nCHANNELS\n`));
      expect(frames.map((frame) => frame.kind)).toEqual(['overflow', 'line']);
      expect(lines(frames.slice(1))).toEqual(['CHANNELS']);
    });

    it('reports a long line split over many chunks only once', () => {
      const framer = new LineFramer(MAX);
      const chunks = [Buffer.from('0123456789'), Buffer.from('abcdefghij'), Buffer.from('KLMNOPQRST'), Buffer.from('uvw')];
      const before = pushAll(framer, chunks);
      expect(before).toEqual([]);
      const frames = framer.push(Buffer.from('xyz\nok\n'));
      expect(frames).toEqual([
        { kind: 'overflow', prefix: Buffer.from('0123456789abcdef') },
        { kind: 'line', bytes: Buffer.from('ok') },
      ]);
    });

    it('reports a long line sent byte by byte only once, with a prefix of exactly maxLineBytes', () => {
      const framer = new LineFramer(MAX);
      const frames = pushAll(framer, byteByByte(`${'q'.repeat(MAX * 3)}\n`));
      expect(frames).toHaveLength(1);
      expect(frames[0]).toEqual({ kind: 'overflow', prefix: Buffer.from('q'.repeat(MAX)) });
    });

    it('never keeps more than maxLineBytes of a long line, however much arrives', () => {
      const framer = new LineFramer(MAX);
      for (let i = 0; i < 50; i++) framer.push(Buffer.from('w'.repeat(100)));
      const [frame] = framer.push(Buffer.from('\n'));
      expect(frame.kind).toBe('overflow');
      expect(frame.kind === 'overflow' && frame.prefix.length).toBe(MAX);
    });

    it('cuts the overflow prefix at maxLineBytes bytes even inside a multi-byte character', () => {
      const framer = new LineFramer(4);
      const [frame] = framer.push(Buffer.from('a日日\n', 'utf8'));
      expect(frame).toEqual({ kind: 'overflow', prefix: Buffer.from('a日', 'utf8') });
    });

    it('counts a CR before the LF toward the limit when the line is over it', () => {
      const framer = new LineFramer(MAX);
      const [frame] = framer.push(Buffer.from(`${'x'.repeat(MAX)}\r\n`));
      expect(frame).toEqual({ kind: 'overflow', prefix: Buffer.from('x'.repeat(MAX)) });
    });
  });

  describe('partial lines and line clients', () => {
    it('is not a line client before any LF arrives', () => {
      const framer = new LineFramer(MAX);
      framer.push(Buffer.from('CHANNELS'));
      expect(framer.isLineClient).toBe(false);
    });

    it('becomes a line client once an LF arrives', () => {
      const framer = new LineFramer(MAX);
      framer.push(Buffer.from('CHANNELS\n'));
      expect(framer.isLineClient).toBe(true);
    });

    it('becomes a line client even when the LF ends an empty line', () => {
      const framer = new LineFramer(MAX);
      framer.push(Buffer.from('\n'));
      expect(framer.isLineClient).toBe(true);
    });

    it('has no partial line at first', () => {
      expect(new LineFramer(MAX).hasPartialLine).toBe(false);
    });

    it('has a partial line while bytes without an LF are pending', () => {
      const framer = new LineFramer(MAX);
      framer.push(Buffer.from('CHAN'));
      expect(framer.hasPartialLine).toBe(true);
    });

    it('has no partial line after a chunk that ends with an LF', () => {
      const framer = new LineFramer(MAX);
      framer.push(Buffer.from('CHAN'));
      framer.push(Buffer.from('NELS\n'));
      expect(framer.hasPartialLine).toBe(false);
    });

    it('has a partial line while discarding the rest of an overflowing line', () => {
      const framer = new LineFramer(MAX);
      framer.push(Buffer.from('x'.repeat(MAX + 1)));
      expect(framer.hasPartialLine).toBe(true);
    });

    it('flushPartial returns the pending bytes as a line for a client that never sent an LF', () => {
      const framer = new LineFramer(MAX);
      framer.push(Buffer.from('CHAN'));
      framer.push(Buffer.from('NELS'));
      expect(framer.flushPartial()).toEqual({ kind: 'line', bytes: Buffer.from('CHANNELS'), flushed: true });
    });

    it('flushPartial empties the buffer', () => {
      const framer = new LineFramer(MAX);
      framer.push(Buffer.from('CHANNELS'));
      framer.flushPartial();
      expect(framer.hasPartialLine).toBe(false);
      expect(framer.flushPartial()).toBeUndefined();
    });

    it('flushPartial drops a final CR of the pending bytes', () => {
      const framer = new LineFramer(MAX);
      framer.push(Buffer.from('CHANNELS\r'));
      expect(framer.flushPartial()).toEqual({ kind: 'line', bytes: Buffer.from('CHANNELS'), flushed: true });
    });

    it('flushPartial returns undefined when nothing is pending', () => {
      expect(new LineFramer(MAX).flushPartial()).toBeUndefined();
    });

    it('flushPartial returns an overflow frame for a never-LF client whose pending bytes passed the limit', () => {
      const framer = new LineFramer(MAX);
      framer.push(Buffer.from('x'.repeat(MAX + 3)));
      expect(framer.flushPartial()).toEqual({ kind: 'overflow', prefix: Buffer.from('x'.repeat(MAX)) });
    });

    it('flushPartial returns undefined for a line client and drops its pending bytes', () => {
      const framer = new LineFramer(MAX);
      framer.push(Buffer.from('CHANNELS\nJOIN al'));
      expect(framer.flushPartial()).toBeUndefined();
      expect(framer.hasPartialLine).toBe(false);
      expect(lines(framer.push(Buffer.from('pha\n')))).toEqual(['pha']);
    });

    it('flushPartial for a line client also ends the discarding of an overflowing line', () => {
      const framer = new LineFramer(MAX);
      framer.push(Buffer.from(`ok\n${'x'.repeat(MAX + 1)}`));
      expect(framer.flushPartial()).toBeUndefined();
      expect(framer.hasPartialLine).toBe(false);
      expect(lines(framer.push(Buffer.from('next\n')))).toEqual(['next']);
    });
  });
});
