// Shared by the rival-daemon and trickling-receiver chaos tests: pushes to a
// few repositories through the real hook, and checks that every push arrived
// once at least, in push order per repository (deliveries told apart by
// X-Relay-Delivery, cloudevents bodies).

import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { createRelayFixture, RELAY_BIN, type RelayFixture, type TestRepo } from '../helpers/relay-fixture.ts';
import type { ReceivedRequest, Receiver } from '../helpers/receiver.ts';
import { commitAsync, gitAsync } from './chaos-kit.ts';

/** The repositories pushed to. */
export const REPOS = ['alpha', 'bravo', 'charlie'];

/** A daemon started as a plain process: did it start, or exit refusing? */
export interface Rival {
  pid: number;
  outcome: Promise<{ started: boolean; code: number | null; output: string }>;
  kill(signal?: NodeJS.Signals): void;
}

export function startRival(fx: RelayFixture): Rival {
  const child = spawn(process.execPath, [RELAY_BIN, 'daemon', '--config', fx.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const outcome = new Promise<{ started: boolean; code: number | null; output: string }>((resolve) => {
    const onData = (b: Buffer): void => {
      output += b.toString();
      if (output.includes('"relay daemon started"')) resolve({ started: true, code: null, output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => resolve({ started: false, code, output }));
  });
  return { pid: child.pid!, outcome, kill: (signal = 'SIGKILL') => void child.kill(signal) };
}

/** Push `n` commits to each repository (sequential per repository, repositories in parallel); resolves with the shas per repository in push order. */
export async function pushAll(fx: RelayFixture, repos: Map<string, TestRepo>, n: number, between?: () => Promise<void>): Promise<Map<string, string[]>> {
  const pushed = new Map<string, string[]>();
  await Promise.all([...repos].map(async ([name, repo]) => {
    const shas: string[] = [];
    pushed.set(name, shas);
    for (let i = 1; i <= n; i++) {
      shas.push(await commitAsync(repo.work, fx.pushEnv, 'f.txt', `${name} ${i}\n`, `${name} change ${i}`));
      await gitAsync(repo.work, ['push', '--quiet', 'origin', 'main'], fx.pushEnv);
      await between?.();
    }
  }));
  return pushed;
}

/** Per repository, the `after` shas of the deliveries in the order they first arrived. */
export function arrivals(rx: Receiver): Map<string, string[]> {
  const seen = new Set<string>();
  const out = new Map<string, string[]>();
  for (const r of rx.requests as ReceivedRequest[]) {
    const id = String(r.headers['x-relay-delivery']);
    if (seen.has(id)) continue;
    let event: { repository?: { slug?: string }; refs?: { after: string }[] };
    try {
      event = JSON.parse(r.body.toString()).data;
    } catch {
      continue;
    }
    if (!event?.repository?.slug || !event.refs?.length) continue;
    seen.add(id);
    const list = out.get(event.repository.slug) ?? [];
    list.push(event.refs[0].after);
    out.set(event.repository.slug, list);
  }
  return out;
}

export function checkDelivered(t: Test, rx: Receiver, pushed: Map<string, string[]>): void {
  const got = arrivals(rx);
  for (const [name, shas] of pushed) {
    const arrived = got.get(name) ?? [];
    t.same(shas.filter((s) => !arrived.includes(s)), [], `${name}: every push delivered (${shas.length})`);
    t.same(arrived.filter((s) => shas.includes(s)), shas, `${name}: in push order`);
  }
}

export function setup(t: Test, rx: Receiver, prefix: string, extra: Record<string, unknown> = {}): { fx: RelayFixture; repos: Map<string, TestRepo> } {
  const fx = createRelayFixture({ prefix });
  t.teardown(() => fx.cleanup());
  fx.writeConfig({
    destinations: [{ name: 'ci', type: 'http', url: `${rx.url}/hook`, format: 'cloudevents', retry: { baseDelay: '50ms', maxDelay: '300ms' }, ...extra }],
  });
  const repos = new Map(REPOS.map((name) => [name, fx.createRepo(name)]));
  return { fx, repos };
}

/** True once every pushed sha has arrived. */
export function allArrived(rx: Receiver, pushed: Map<string, string[]>): boolean {
  const got = new Set([...arrivals(rx).values()].flat());
  return [...pushed.values()].every((shas) => shas.every((s) => got.has(s)));
}
