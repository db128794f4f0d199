/**
 * `work` run once per process and its promise shared by every caller; a failure is not kept, so the next caller
 * tries again (a missing package installed meanwhile, a user created by hand).
 */
export function onceUntilFailure<T>(work: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (!pending) {
      pending = work();
      pending.catch(() => {
        pending = undefined;
      });
    }
    return pending;
  };
}
