// Spawn real processes that claim the store lock (see lock-claimant.ts).

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';

const CLAIMANT = path.join(import.meta.dirname, 'lock-claimant.ts');

/** A claimant process: send a command, get its one-line answer. */
export interface Claimant {
  child: ChildProcess;
  pid: number;
  ask(command: string): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Start a claimant for `storePath` in role `role` (not holding anything yet). */
export function startClaimant(storePath: string, role = 'daemon'): Claimant {
  const child = spawn(process.execPath, [CLAIMANT, storePath, role], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  lines.on('line', (line) => waiting.shift()?.resolve(line));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    for (const w of waiting.splice(0)) w.reject(new Error(`claimant ${child.pid} exited before answering`));
  });
  return {
    child,
    pid: child.pid!,
    ask(command) {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin!.write(command + '\n');
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** A real process holding the store lock as `role` until killed. */
export async function holdStoreLock(storePath: string, role: string): Promise<Claimant> {
  const c = startClaimant(storePath, role);
  const answer = await c.ask('hold');
  if (answer !== 'held') {
    await c.kill();
    throw new Error(`could not hold the store lock: ${answer}`);
  }
  return c;
}
