// A server stream whose producer pushes into the transport, rather than the transport pulling through a chain of
// async iterators. A pulled stream that waits holds, at every layer between its source and the wire (domain →
// service adapter → transport), a suspended frame or a pending `then` with its closures: 3–4 KiB per open
// Subscribe, 40 MiB of heap with 10,000 agents connected, nearly all of them quiet. A pushed one holds nothing
// while it waits: the producer runs when woken, writes what it has, and returns.
//
// Transports that can take pushes (GrpcCalls) call `pipe`; everything else (connect, for Connect and gRPC-Web)
// iterates it, through a small buffer with the same backpressure.

/** Where a producer writes. */
export interface Outlet<T> {
  /**
   * Takes one item. False (or a promise of false) asks the producer to wait for `ready()` before the next one; a
   * promise asks it to wait for the promise before anything else (the item is still being prepared).
   */
  push(item: T): boolean | Promise<boolean>;
  /** Resolves once more items are welcome (or the stream is over: the producer then sees its signal aborted). */
  ready(): Promise<void>;
}

/** Runs the producer into `outlet` until `signal` aborts or it fails; resolves or rejects when it has stopped. */
export type Producer<T> = (outlet: Outlet<T>, signal: AbortSignal) => Promise<void>;

/** The items a reader may have waiting before the producer is asked to pause. */
const HIGH_WATER = 16;

export class PushSource<T> implements AsyncIterable<T> {
  constructor(
    private readonly produce: Producer<T>,
    private readonly signal: AbortSignal,
  ) {}

  /** Pushes every item into `outlet`; resolves when the stream is over (or rejects with its failure). */
  pipe(outlet: Outlet<T>): Promise<void> {
    return this.produce(outlet, this.signal);
  }

  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return new BufferedReader(this.produce, this.signal);
  }
}

/** Items pushed through `map` first, in order (`map` may be async: the producer waits for it). */
export function mapOutlet<A, B>(outlet: Outlet<B>, map: (item: A) => B | Promise<B>): Outlet<A> {
  return new MappedOutlet(outlet, map);
}

// A class, not an object of two arrow functions: one per layer per open stream.
class MappedOutlet<A, B> implements Outlet<A> {
  constructor(
    private readonly outlet: Outlet<B>,
    private readonly map: (item: A) => B | Promise<B>,
  ) {}

  push(item: A): boolean | Promise<boolean> {
    const mapped = this.map(item);
    return mapped instanceof Promise ? mapped.then((value) => this.outlet.push(value)) : this.outlet.push(mapped);
  }

  ready(): Promise<void> {
    return this.outlet.ready();
  }
}

type Waiting<T> = { resolve: (result: IteratorResult<T, undefined>) => void; reject: (error: unknown) => void };

/** A pushed stream read by pulling: what is pushed waits here for the reader. */
class BufferedReader<T> implements AsyncIterator<T, undefined> {
  private readonly items: T[] = [];
  private reader: Waiting<T> | undefined;
  private room: (() => void) | undefined;
  private over: { error: unknown } | "done" | undefined;
  private readonly stop = new AbortController();
  private readonly finished: Promise<void>;

  constructor(produce: Producer<T>, signal: AbortSignal) {
    const outlet: Outlet<T> = {
      push: (item) => {
        if (this.stop.signal.aborted) return false;
        const reader = this.reader;
        if (reader) {
          this.reader = undefined;
          reader.resolve({ done: false, value: item });
          return true;
        }
        this.items.push(item);
        return this.items.length < HIGH_WATER;
      },
      ready: () =>
        this.items.length === 0 || this.stop.signal.aborted
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              this.room = resolve;
            }),
    };
    this.finished = produce(outlet, AbortSignal.any([signal, this.stop.signal])).then(
      () => this.settle("done"),
      (error: unknown) => this.settle({ error }),
    );
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.items.length > 0) {
      const item = this.items.shift() as T;
      if (this.items.length === 0) this.makeRoom();
      return Promise.resolve({ done: false, value: item });
    }
    this.makeRoom();
    const over = this.over;
    if (over === "done") return Promise.resolve({ done: true, value: undefined });
    if (over) {
      this.over = "done";
      return Promise.reject(over.error);
    }
    return new Promise((resolve, reject) => {
      this.reader = { resolve, reject };
    });
  }

  /** The reader stopped early: the producer is stopped, and this resolves once it has. */
  async return(): Promise<IteratorResult<T, undefined>> {
    this.stop.abort();
    this.items.length = 0;
    this.makeRoom();
    await this.finished;
    this.over = "done";
    return { done: true, value: undefined };
  }

  private makeRoom(): void {
    const room = this.room;
    this.room = undefined;
    room?.();
  }

  private settle(over: { error: unknown } | "done"): void {
    const reader = this.reader;
    this.reader = undefined;
    if (!reader) {
      this.over = over;
      return;
    }
    this.over = "done";
    if (over === "done") reader.resolve({ done: true, value: undefined });
    else reader.reject(over.error);
  }
}
