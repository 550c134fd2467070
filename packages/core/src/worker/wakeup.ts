/** A reusable wake-up: `wait()` resolves at the next `notify()` or timeout. */
export class Wakeup {
  private waiters = new Set<() => void>();

  wait(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      this.waiters.add(done);
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
    });
  }

  notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

export { setTimeout as sleep } from 'node:timers/promises';
