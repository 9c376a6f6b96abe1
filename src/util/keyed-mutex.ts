/**
 * @module Per-key serialization of asynchronous work.
 *
 * Operations on one conference run one at a time (RFC 6503 §4: each operation completes before the
 * next one on the same object starts), while different conferences proceed in parallel. The queue
 * per key is bounded: past the bound the caller is told to give up (CCMP 510) instead of piling up.
 */

export class QueueFull extends Error {
  override readonly name = 'QueueFull';
}

interface Queue {
  tail: Promise<void>;
  size: number;
}

export class KeyedMutex {
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly maxQueued = 1000) {}

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { tail: Promise.resolve(), size: 0 };
      this.queues.set(key, queue);
    }
    if (queue.size >= this.maxQueued) throw new QueueFull(`too many operations queued on ${key}`);
    queue.size++;
    let release!: () => void;
    const previous = queue.tail;
    queue.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (--queue.size === 0) this.queues.delete(key);
    }
  }
}
