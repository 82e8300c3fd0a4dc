import {
  hashSlots,
  lowerPoolPriority,
  POOL_NICENESS,
  sizeThreadPool,
  ThreadControl,
  threadPoolSize,
} from '../../src/config/thread-pool';

describe('thread pool', () => {
  it("reads UV_THREADPOOL_SIZE, and libuv's default of 4 when it is unset or not a size", () => {
    expect(threadPoolSize({})).toBe(4);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '8' })).toBe(8);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: 'many' })).toBe(4);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '0' })).toBe(4);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '5000' })).toBe(1024);
  });

  it('hands libuv every thread of the pool and one hash more per core', () => {
    expect(hashSlots(2, 4)).toBe(6);
    expect(hashSlots(8, 10)).toBe(18);
    expect(hashSlots(8, 4)).toBe(12);
    expect(hashSlots(1, 4)).toBe(5);
    expect(hashSlots(4, 1)).toBe(5);
    expect(hashSlots(0, 4)).toBe(5);
  });

  it('sizes the pool to two threads more than the cores, at least four, unless UV_THREADPOOL_SIZE is set', () => {
    const small: NodeJS.ProcessEnv = {};
    sizeThreadPool(small, 2);
    expect(small.UV_THREADPOOL_SIZE).toBe('4');
    expect(hashSlots(2, threadPoolSize(small))).toBe(6);
    const large: NodeJS.ProcessEnv = {};
    sizeThreadPool(large, 16);
    expect(large.UV_THREADPOOL_SIZE).toBe('18');
    expect(hashSlots(16, threadPoolSize(large))).toBe(34);
    const chosen: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: '6' };
    sizeThreadPool(chosen, 16);
    expect(chosen.UV_THREADPOOL_SIZE).toBe('6');
  });
});

describe("lowering the priority of libuv's pool", () => {
  /** A process whose threads are `initial`, and `started` more once its pool starts. */
  function fakeProcess(initial: string[], started: string[]) {
    let threads = [...initial];
    const niceness = new Map<number, number>();
    const control: ThreadControl = {
      threads: () => [...threads],
      startPool: () => {
        threads = [...threads, ...started];
      },
      setNiceness: (threadId, value) => niceness.set(threadId, value),
    };
    return { control, niceness };
  }

  it('gives the threads the pool starts, and only them, the pool niceness', () => {
    const { control, niceness } = fakeProcess(['100', '101', '102'], ['110', '111', '112', '113']);
    expect(lowerPoolPriority(control, 4)).toBe(4);
    expect([...niceness]).toEqual([
      [110, POOL_NICENESS],
      [111, POOL_NICENESS],
      [112, POOL_NICENESS],
      [113, POOL_NICENESS],
    ]);
    expect(POOL_NICENESS).toBeGreaterThan(0);
  });

  it('changes nothing when the threads added are not the pool (it had started, or another thread started too)', () => {
    const none = fakeProcess(['100', '101'], []);
    expect(lowerPoolPriority(none.control, 4)).toBe(0);
    expect(none.niceness.size).toBe(0);
    const more = fakeProcess(['100'], ['110', '111', '112', '113', '114']);
    expect(lowerPoolPriority(more.control, 4)).toBe(0);
    expect(more.niceness.size).toBe(0);
  });

  it('changes nothing where threads cannot be listed', () => {
    const setNiceness = jest.fn();
    const control: ThreadControl = {
      threads: () => {
        throw new Error('ENOENT: /proc/self/task');
      },
      startPool: () => undefined,
      setNiceness,
    };
    expect(lowerPoolPriority(control, 4)).toBe(0);
    expect(setNiceness).not.toHaveBeenCalled();
  });

  it('goes on, and starts, when the system refuses to change a thread', () => {
    const { control } = fakeProcess(['100'], ['110', '111', '112', '113']);
    control.setNiceness = (threadId) => {
      if (threadId === 111) throw new Error('EPERM');
    };
    expect(lowerPoolPriority(control, 4)).toBe(3);
  });
});
