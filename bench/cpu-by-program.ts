// CPU time by program on this machine (Linux /proc): what a phase of a benchmark cost each of
// node, postgres, temporal, … — on a shared 2-core machine the ceiling is often the cores themselves.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux this runs on

/** Seconds of CPU (user + system) used so far by each program, by its command name or the name `named` gives its pid. */
export function cpuByProgram(named: Record<number, string> = {}): Map<string, number> {
  const totals = new Map<string, number>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return totals; // not Linux: no figures
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    // "pid (comm) state ppid …": comm may hold spaces, so split after its closing parenthesis
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime
    const name = named[Number(pid)] ?? (comm.startsWith('postgres') ? 'postgres' : comm);
    totals.set(name, (totals.get(name) ?? 0) + seconds);
  }
  return totals;
}

/** The CPU seconds each program used between two readings, largest first, those over 0.05 s. */
export function cpuSpent(before: Map<string, number>, after: Map<string, number>): [string, number][] {
  return [...after].map(([name, s]) => [name, s - (before.get(name) ?? 0)] as [string, number])
    .filter(([, s]) => s > 0.05).sort((a, b) => b[1] - a[1]);
}
