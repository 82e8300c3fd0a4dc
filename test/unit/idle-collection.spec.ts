import { garbageCollector, IdleCollection } from '../../src/database/idle-collection';

describe('IdleCollection', () => {
  let collections: number;
  let idle: IdleCollection;
  const run = (statements: number) => {
    for (let k = 0; k < statements; k++) {
      idle.started();
      idle.finished();
    }
  };

  beforeEach(() => {
    jest.useFakeTimers();
    collections = 0;
    idle = new IdleCollection(() => collections++, { idleMs: 1000, statements: 10 });
  });

  afterEach(() => jest.useRealTimers());

  it('collects once, when the thread has been idle long enough after enough statements', () => {
    run(10);
    jest.advanceTimersByTime(999);
    expect(collections).toBe(0);
    jest.advanceTimersByTime(1);
    expect(collections).toBe(1);
    jest.advanceTimersByTime(10_000);
    expect(collections).toBe(1);
  });

  it('does not collect after too few statements, and counts them toward the next time', () => {
    run(9);
    jest.advanceTimersByTime(5000);
    expect(collections).toBe(0);
    run(1);
    jest.advanceTimersByTime(1000);
    expect(collections).toBe(1);
    run(9);
    jest.advanceTimersByTime(5000);
    expect(collections).toBe(1);
  });

  it('waits while a statement is running, and starts the idle time again at each one', () => {
    run(10);
    jest.advanceTimersByTime(500);
    idle.started();
    jest.advanceTimersByTime(5000);
    expect(collections).toBe(0);
    idle.finished();
    jest.advanceTimersByTime(999);
    expect(collections).toBe(0);
    jest.advanceTimersByTime(1);
    expect(collections).toBe(1);
  });

  it('collects once after opening when no statement follows within the idle time', () => {
    idle.opened();
    jest.advanceTimersByTime(999);
    expect(collections).toBe(0);
    jest.advanceTimersByTime(1);
    expect(collections).toBe(1);
    run(9);
    jest.advanceTimersByTime(5000);
    expect(collections).toBe(1);
  });

  it('after opening, waits for the first statements to end before it collects', () => {
    idle.opened();
    jest.advanceTimersByTime(500);
    idle.started();
    jest.advanceTimersByTime(5000);
    expect(collections).toBe(0);
    idle.finished();
    jest.advanceTimersByTime(1000);
    expect(collections).toBe(1);
  });

  it('does nothing without a collector', () => {
    const without = new IdleCollection(undefined, { idleMs: 10, statements: 1 });
    without.started();
    without.finished();
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('garbageCollector', () => {
  it("gives V8's full collection", () => {
    const collect = garbageCollector();
    expect(typeof collect).toBe('function');
    expect(() => collect?.()).not.toThrow();
  });
});
