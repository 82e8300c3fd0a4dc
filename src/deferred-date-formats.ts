type DateTimeFormatClass = typeof Intl.DateTimeFormat;

/**
 * A stand-in for `Intl.DateTimeFormat` that keeps its arguments and makes the real formatter the
 * first time one of its members is read: `format`, `formatToParts`, `resolvedOptions` and the rest
 * behave as the real one's, bound to it.
 */
function deferredClass(Real: DateTimeFormatClass): DateTimeFormatClass {
  function DeferredDateTimeFormat(...args: ConstructorParameters<DateTimeFormatClass>): Intl.DateTimeFormat {
    let real: Intl.DateTimeFormat | undefined;
    const made = (): Intl.DateTimeFormat => (real ??= new Real(...args));
    return new Proxy(Object.create(Real.prototype) as Intl.DateTimeFormat, {
      get(target, key) {
        // A formatter has only its prototype's members; asking for another (a promise asks for
        // `then`) makes nothing.
        if (!(key in target)) return undefined;
        const value: unknown = Reflect.get(made(), key);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(made()) : value;
      },
    });
  }
  DeferredDateTimeFormat.supportedLocalesOf = (...args: Parameters<DateTimeFormatClass['supportedLocalesOf']>) =>
    Real.supportedLocalesOf(...args);
  DeferredDateTimeFormat.prototype = Real.prototype;
  return DeferredDateTimeFormat as unknown as DateTimeFormatClass;
}

/**
 * Runs `load` (the import of Nest's modules) with `Intl.DateTimeFormat` deferred, and puts the real
 * one back when it settles. `@nestjs/common` makes two formatters as it loads, for its console
 * logger, which this server replaces with its own; making the first one has V8 check every locale
 * ICU knows, which maps about 8 MB of ICU's data into the process for good. Deferred, they cost
 * that only if Nest's console logger ever writes a line.
 */
export async function withDeferredDateFormats<T>(load: () => Promise<T>): Promise<T> {
  const Real = Intl.DateTimeFormat;
  Intl.DateTimeFormat = deferredClass(Real);
  try {
    return await load();
  } finally {
    Intl.DateTimeFormat = Real;
  }
}
