/** Writes confirmations: returns how many of the rows were still claimed (now sent). */
export type ConfirmSends = (outreachIds: number[], responses: string[], now: Date) => Promise<number>;

/**
 * Confirms accepted sends in groups: a confirmation statement takes every send accepted within
 * `groupMs` of the oldest one waiting (or since the last statement), one statement at a time.
 * Each statement also updates the campaign's rollups (sql/functions/analytics.sql), so its cost is
 * mostly per statement: confirming as soon as one was running gave ~5 rows per statement and about
 * 1.1 ms of Postgres CPU per message; 100 ms groups give ~80 rows and 0.25 ms (bench:campaign). The
 * gap between the SMTP server's acceptance and our commit is at most groupMs plus one statement,
 * and that bounds what a crash leaves in doubt (settled by the provider's log, or re-sent with the
 * same Message-ID).
 */
export class ConfirmQueue {
  private pending: { id: number; response: string; at: number }[] = [];
  private running: Promise<void> | undefined;
  confirmed = 0;
  error: Error | undefined;

  constructor(private readonly confirm: ConfirmSends, private readonly now: () => Date, private readonly groupMs: number) {}

  add(id: number, response: string) {
    this.pending.push({ id, response: response.slice(0, 200), at: Date.now() });
    this.kick();
  }

  /** Starts a flush unless one runs; one that ends with rows added meanwhile starts the next. */
  private kick() {
    if (this.running || !this.pending.length) return;
    this.running = this.flush().finally(() => {
      this.running = undefined;
      this.kick();
    });
  }

  private async flush() {
    while (this.pending.length) {
      const wait = this.groupMs - (Date.now() - this.pending[0].at);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const batch = this.pending.splice(0);
      try {
        this.confirmed += await this.confirm(batch.map((b) => b.id), batch.map((b) => b.response), this.now());
      } catch (err) {
        // Rows stay claimed; the retried activity re-sends them with the same Message-ID.
        this.error = err as Error;
      }
    }
  }

  async drain() {
    while (this.running) await this.running;
  }
}
