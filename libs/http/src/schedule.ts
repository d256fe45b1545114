/**
 * Runs `work` every `intervalMs`, the first time at a random point of the first interval (never at
 * start-up: periodic sweeps read whole collections on FerretDB, and a restarting instance must not pay that
 * while it catches up; instances spread their sweeps). Returns a function that stops it.
 */
export function everyIntervalFromRandomStart(work: () => Promise<unknown>, intervalMs: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => void work().finally(() => schedule(intervalMs)), ms);
    timer.unref();
  };
  schedule(Math.random() * intervalMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
