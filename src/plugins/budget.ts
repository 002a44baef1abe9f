/** A time budget for a plugin's promise: past it, reject with the given error; the late result is ignored. */
export function withBudget<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  // An abandoned promise's late rejection must not become an unhandled rejection.
  p.then(undefined, () => {});
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
