import { withDeferredDateFormats } from '../../src/deferred-date-formats';

describe('withDeferredDateFormats', () => {
  const Original = Intl.DateTimeFormat;
  let made: number;

  /** The real class, counting the formatters it makes. */
  function installCounting(): void {
    made = 0;
    const Counting = function (...args: ConstructorParameters<typeof Intl.DateTimeFormat>) {
      made++;
      return new Original(...args);
    };
    Counting.prototype = Original.prototype;
    Counting.supportedLocalesOf = Original.supportedLocalesOf;
    Intl.DateTimeFormat = Counting as unknown as typeof Intl.DateTimeFormat;
  }

  beforeEach(installCounting);
  afterEach(() => {
    Intl.DateTimeFormat = Original;
  });

  const options: Intl.DateTimeFormatOptions = {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: 'numeric',
    timeZone: 'UTC',
  };
  const date = new Date(Date.UTC(2026, 11, 3, 21, 45));

  test('a formatter made while loading is made for real only when it is first used, and then formats as the real one', async () => {
    const formatter = await withDeferredDateFormats(() => Promise.resolve(new Intl.DateTimeFormat('en-GB', options)));
    expect(made).toBe(0);
    expect(formatter.format(date)).toBe(new Original('en-GB', options).format(date));
    expect(made).toBe(1);
    expect(formatter.formatToParts(date)).toEqual(new Original('en-GB', options).formatToParts(date));
    expect(formatter.resolvedOptions().locale).toBe('en-GB');
    expect(made).toBe(1);
    expect(formatter).toBeInstanceOf(Original);
  });

  test('a formatter method taken apart from its formatter still formats', async () => {
    const formatter = await withDeferredDateFormats(() => Promise.resolve(new Intl.DateTimeFormat('en-US', options)));
    const { format } = formatter;
    expect(format(date)).toBe(new Original('en-US', options).format(date));
  });

  test('the real class is back once loading has finished, or failed', async () => {
    const counting = Intl.DateTimeFormat;
    let during: typeof Intl.DateTimeFormat | undefined;
    await withDeferredDateFormats(() => {
      during = Intl.DateTimeFormat;
      return Promise.resolve();
    });
    expect(during).not.toBe(counting);
    expect(Intl.DateTimeFormat).toBe(counting);
    await expect(withDeferredDateFormats(() => Promise.reject(new Error('cannot load')))).rejects.toThrow('cannot load');
    expect(Intl.DateTimeFormat).toBe(counting);
    expect(Intl.DateTimeFormat.supportedLocalesOf(['en-GB'])).toEqual(['en-GB']);
  });

  test("Nest's modules load without making a formatter; its console logger makes one when it writes", async () => {
    const common = await withDeferredDateFormats(() => import('@nestjs/common'));
    expect(made).toBe(0);
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      new common.ConsoleLogger('Test', { timestamp: false }).log('a line');
      expect(write).toHaveBeenCalled();
    } finally {
      write.mockRestore();
    }
    expect(made).toBeGreaterThan(0);
  });
});
