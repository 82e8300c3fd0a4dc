import fc from 'fast-check';
import { CommandSyntax } from '../../src/transport/command';
import { CommandParser } from '../../src/transport/command-parser';
import { Frame, LineFramer } from '../../src/transport/line-framer';

const MAX = 64;

/** Cuts `bytes` at the given (sorted, deduplicated) offsets. */
function chunksOf(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

function frameAll(bytes: Buffer, cuts: number[], max = MAX): Frame[] {
  const framer = new LineFramer(max);
  return chunksOf(bytes, cuts).flatMap((chunk) => framer.push(chunk));
}

/** What the framer must produce: the LF-separated lines, CR stripped at the end, empty ones skipped, long ones overflowed. */
function expectedFrames(bytes: Buffer, max = MAX): Frame[] {
  const frames: Frame[] = [];
  let start = 0;
  for (let lf = bytes.indexOf(0x0a); lf !== -1; lf = bytes.indexOf(0x0a, start)) {
    const line = bytes.subarray(start, lf);
    start = lf + 1;
    if (line.length > max) {
      frames.push({ kind: 'overflow', prefix: line.subarray(0, max) });
      continue;
    }
    const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
    if (end > 0) frames.push({ kind: 'line', bytes: line.subarray(0, end) });
  }
  return frames;
}

const plain = (frames: Frame[]) =>
  frames.map((frame) =>
    frame.kind === 'line' ? ['line', frame.bytes.toString('hex')] : ['overflow', frame.prefix.toString('hex')],
  );

const streamBytes = fc
  .array(fc.oneof(fc.constantFrom(0x0a, 0x0d, 0x20), fc.integer({ min: 0, max: 255 })), { maxLength: 400 })
  .map((values) => Buffer.from(values));
const cuts = fc.array(fc.nat(), { maxLength: 40 });

describe('LineFramer properties', () => {
  test('however a stream is split into reads, the frames are the same', () => {
    fc.assert(
      fc.property(streamBytes, cuts, cuts, (bytes, first, second) => {
        expect(plain(frameAll(bytes, first))).toEqual(plain(frameAll(bytes, second)));
      }),
    );
  });

  test('the frames are the LF-separated lines of the stream, with the length rule applied', () => {
    fc.assert(
      fc.property(streamBytes, cuts, (bytes, split) => {
        expect(plain(frameAll(bytes, split))).toEqual(plain(expectedFrames(bytes)));
      }),
    );
  });

  test('no frame ever holds more than the limit', () => {
    fc.assert(
      fc.property(streamBytes, cuts, fc.integer({ min: 1, max: 100 }), (bytes, split, max) => {
        for (const frame of frameAll(bytes, split, max)) {
          expect((frame.kind === 'line' ? frame.bytes : frame.prefix).length).toBeLessThanOrEqual(max);
        }
      }),
    );
  });
});

const SYNTAX: Record<string, CommandSyntax> = {
  CREATE: { fields: ['channel'], subject: 'channel' },
  SAY: { fields: ['channel'], rest: 'message' },
  REGISTER: { fields: ['user', 'password'] },
  CHANNELS: { fields: [], canFail: false, lenient: true },
};
const parser = new CommandParser((verb) => SYNTAX[verb]);
const word = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 12 })
  .filter((text) => !text.includes(' ') && !text.includes('\n'));

describe('CommandParser properties', () => {
  test('any bytes at all either parse, are refused, or are ignored — never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), (bytes) => {
        const outcome = parser.parse({ kind: 'line', bytes: Buffer.from(bytes) });
        expect(outcome === undefined || outcome.kind === 'command' || outcome.kind === 'refused').toBe(true);
      }),
    );
  });

  test('a SAY message comes back byte for byte, whatever its spaces', () => {
    fc.assert(
      fc.property(
        word,
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).filter((text) => !text.includes('\n')),
        (channel, message) => {
          const outcome = parser.parse({ kind: 'line', bytes: Buffer.from(`SAY ${channel} ${message}`) });
          expect(outcome).toEqual({
            kind: 'command',
            command: { verb: 'SAY', args: { channel, message }, subject: undefined },
            failure: { kind: 'result', verb: 'SAY', ok: false, subject: undefined },
          });
        },
      ),
    );
  });

  test('REGISTER is a command exactly when it has two non-empty fields', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(word, fc.constant('')), { maxLength: 4 }), (fields) => {
        const outcome = parser.parse({ kind: 'line', bytes: Buffer.from(['REGISTER', ...fields].join(' ')) });
        const wellFormed = fields.length === 2 && fields.every((field) => field !== '');
        expect(outcome?.kind).toBe(wellFormed ? 'command' : 'refused');
      }),
    );
  });

  test('invalid UTF-8 anywhere in a known command is refused, never passed on', () => {
    fc.assert(
      fc.property(word, fc.uint8Array({ minLength: 1, maxLength: 8 }), (channel, tail) => {
        const bytes = Buffer.concat([Buffer.from(`SAY ${channel} `), Buffer.from([0xff]), Buffer.from(tail)]);
        expect(parser.parse({ kind: 'line', bytes })?.kind).toBe('refused');
      }),
    );
  });
});
