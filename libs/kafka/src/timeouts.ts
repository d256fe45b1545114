/** `work`, or an error after `ms` (`what` names it in the error). */
export function withTimeout<T>(work: Promise<T>, ms: number, what = 'the work'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Waits for `work` at most `ms`, and never throws: a cleanup that cannot finish is left behind. */
export async function settleWithin(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!work) return;
  await withTimeout(work, ms).catch(() => undefined);
}
