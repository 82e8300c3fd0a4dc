import { hashSlots, sizeThreadPool, threadPoolSize } from '../../src/config/thread-pool';

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
