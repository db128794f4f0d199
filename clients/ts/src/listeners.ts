// A tiny typed event emitter that works the same in Node and browsers.

type Fn = (...args: never[]) => void;

export class Listeners<Events extends { [K in keyof Events]: Fn }> {
  private readonly map = new Map<keyof Events, Set<Fn>>();

  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    let set = this.map.get(event);
    if (!set) this.map.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    for (const listener of this.map.get(event) ?? []) {
      try {
        (listener as (...a: Parameters<Events[E]>) => void)(...args);
      } catch {
        // A failing listener must not break delivery.
      }
    }
  }
}
