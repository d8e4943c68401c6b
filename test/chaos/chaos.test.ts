// Chaos: a stream of real pushes (real hook) across four repositories while,
// at seeded-random moments, the daemon is SIGKILLed and restarted, the path
// to the receiver (a cuttable TCP proxy) hangs / resets / refuses, the
// receiver answers 5xx, 429 + Retry-After or drops connections, and the store
// runs into its size bound (store.maxBytes 1 MiB, large commit messages) and
// must free space by itself. At the end every ref update pushed has been
// delivered at least once, each repository's events arrived in push order,
// nothing is left in the spool or the queue, and the duplicates are counted.
//
// The seed fixes the push script of every repository and the fault schedule
// (which fault, how long, how long between faults); the interleaving with the
// daemon's own timing is not replayable, so a failure is replayed in kind.
// CHAOS_SEED=n replays a seed, CHAOS_PUSHES=n sets pushes per repository.

import t from 'tap';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { createRelayFixture, waitUntil, type DaemonProcess, type TestRepo } from '../helpers/relay-fixture.ts';
import { startReceiver, type ResponsePlan } from '../helpers/receiver.ts';
import { startTcpProxy, type ProxyMode } from '../helpers/tcp-proxy.ts';
import { chaosSeed, commitAsync, gitAsync, queueCounts, seededRandom, sleep, type Random } from './chaos-kit.ts';

const REPOS = ['alpha', 'bravo', 'charlie', 'delta'];
const PUSHES_PER_REPO = Number(process.env.CHAOS_PUSHES ?? 20);
/** Faults keep coming until this share of the pushes was delivered (so they hit the drain too)… */
const CHAOS_UNTIL_DELIVERED = 0.9;
/** …but no longer than this. */
const MAX_CHAOS_MS = 60_000;
const MAX_KILLS = 8;
/** Bound on the opening outage that fills the store. */
const MAX_FILL_MS = 30_000;
const CONVERGE_MS = 90_000;
const ZERO = '0'.repeat(40);

/** One ref update as the hook saw it. */
interface RefUpdate {
  ref: string;
  before: string;
  after: string;
}

/** One push: which repository, its place in that repository's order, what it changed. */
interface PushRecord {
  repo: string;
  index: number;
  updates: RefUpdate[];
}

/** A request the receiver answered 2xx (it counts as delivered). */
interface Accepted {
  n: number;
  deliveryId: string;
  event: { id: string; refs: RefUpdate[] };
}

const keyOf = (u: RefUpdate): string => `${u.ref} ${u.before} ${u.after}`;

/** Filler text so the store reaches its 1 MiB bound within the run. */
function padding(rand: Random): string {
  const words = ['relay', 'durable', 'queue', 'outage', 'retry', 'bitbucket', 'spool', 'webhook'];
  const out: string[] = [];
  let size = 0;
  const target = rand.int(4_000, 14_000);
  while (size < target) {
    const w = rand.pick(words);
    out.push(w);
    size += w.length + 1;
  }
  return out.join(' ').replace(/(.{72}) /g, '$1\n');
}

/** Push script of one repository: main updates, branch creates/deletes, main + tag in one push. */
async function pushRepository(repo: TestRepo, name: string, rand: Random, env: NodeJS.ProcessEnv, log: PushRecord[], failures: string[]): Promise<void> {
  let main = ZERO;
  const branches = new Map<string, string>(); // live feature branches → sha
  for (let i = 0; i < PUSHES_PER_REPO; i++) {
    await sleep(rand.int(0, 150));
    const roll = rand.next();
    const updates: RefUpdate[] = [];
    const args: string[] = ['origin'];
    const commitMain = async (count: number): Promise<string> => {
      let sha = '';
      for (let c = 0; c < count; c++) {
        sha = await commitAsync(repo.work, env, `f${rand.int(0, 4)}.txt`, `${name} ${i}.${c} ${rand.next()}\n`, `${name}: change ${i}.${c}\n\n${padding(rand)}`);
      }
      return sha;
    };
    if (main === ZERO || roll < 0.6) {
      const after = await commitMain(rand.int(1, 2));
      updates.push({ ref: 'refs/heads/main', before: main, after });
      args.push('main');
      main = after;
    } else if (roll < 0.75) {
      const ref = `refs/heads/feature/${name}-${i}`;
      updates.push({ ref, before: ZERO, after: main });
      args.push(`main:${ref}`);
      branches.set(ref, main);
    } else if (roll < 0.9 || branches.size === 0) {
      const after = await commitMain(1);
      const tag = `refs/tags/${name}-v${i}`;
      await gitAsync(repo.work, ['tag', `${name}-v${i}`, after], env);
      updates.push({ ref: 'refs/heads/main', before: main, after }, { ref: tag, before: ZERO, after });
      args.push('main', tag);
      main = after;
    } else {
      const ref = rand.pick([...branches.keys()]);
      updates.push({ ref, before: branches.get(ref)!, after: ZERO });
      args.push(`:${ref}`);
      branches.delete(ref);
    }
    try {
      const stderr = await gitAsync(repo.work, ['push', '--quiet', ...args], env);
      void stderr;
    } catch (err) {
      failures.push(`${name} push ${i}: ${(err as Error).message}`);
      return;
    }
    log.push({ repo: name, index: i, updates });
  }
}

t.test('pushes under SIGKILL, network cuts, 5xx/429 and a full store: all delivered, in order, nothing left', async (t) => {
  const seed = chaosSeed(t);
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const proxy = await startTcpProxy({ port: receiver.port });
  t.teardown(() => proxy.close());

  // --- receiver behaviour, switchable by the fault schedule ------------------
  type HttpMode = 'ok' | '5xx' | '429' | 'flaky' | 'slow';
  let httpMode: HttpMode = 'ok';
  const accepted: Accepted[] = [];
  let refused = 0;
  const answerRand = seededRandom(seed ^ 0x5bd1e995);
  receiver.respond((req) => {
    let plan: ResponsePlan;
    switch (httpMode) {
      case '5xx':
        plan = { status: answerRand.pick([500, 502, 503]) };
        break;
      case '429':
        plan = { status: 429, headers: { 'retry-after': '1' } };
        break;
      case 'flaky': {
        const r = answerRand.next();
        plan = r < 0.3 ? { status: 503 } : r < 0.5 ? { destroy: true } : { status: 200 };
        break;
      }
      case 'slow':
        plan = { status: 200, delayMs: 1_500 }; // beyond the 1 s response timeout: a resend follows
        break;
      default:
        plan = { status: 200 };
    }
    if (plan.destroy || (plan.status ?? 200) >= 300) refused++;
    else {
      const body = JSON.parse(req.body.toString());
      accepted.push({ n: req.n, deliveryId: String(req.headers['x-relay-delivery']), event: body.data });
    }
    return plan;
  });

  const fx = createRelayFixture({ prefix: 'relay-chaos-' });
  t.teardown(() => fx.cleanup());
  fx.writeConfig({
    log: { format: 'json', level: 'info' },
    store: { path: fx.storePath, maxBytes: '1MiB' },
    destinations: [
      {
        name: 'sink',
        type: 'http',
        url: `http://127.0.0.1:${proxy.port}/hook`,
        format: 'cloudevents',
        retry: { baseDelay: '20ms', maxDelay: '500ms' },
        timeout: { connect: '500ms', response: '1s' },
      },
    ],
  });

  // --- the daemon, restartable; any exit we did not cause is a failure -------
  const daemons: DaemonProcess[] = [];
  const unexpectedExits: string[] = [];
  let current: DaemonProcess | null = null;
  let killing = false;
  const start = async (): Promise<void> => {
    const d = await fx.startDaemon();
    daemons.push(d);
    current = d;
    void d.exited.then((e) => {
      if (!(killing && current === d)) unexpectedExits.push(`daemon ${d.child.pid} exited by itself: ${JSON.stringify(e)}\n${d.output().slice(-3000)}`);
    });
  };
  await start();

  // --- pushes ----------------------------------------------------------------
  const repos = REPOS.map((name) => ({ name, repo: fx.createRepo(name) }));
  const pushLog: PushRecord[] = [];
  const pushFailures: string[] = [];
  const pushing = Promise.all(repos.map(({ name, repo }, i) => pushRepository(repo, name, seededRandom(seed + i + 1), fx.pushEnv, pushLog, pushFailures)));
  let pushesDone = false;
  void pushing.then(() => (pushesDone = true));

  // --- the fault schedule ----------------------------------------------------
  const faults = seededRandom(seed);
  const tally = { kills: 0, net: 0, http: 0 };
  let netGen = 0;
  let httpGen = 0;
  const chaosStart = Date.now();
  const deliveredEvents = (): number => new Set(accepted.map((a) => a.event.id)).size;
  const storeFullLogged = (): boolean => daemons.some((d) => d.logLines().some((l) => /store is full/.test(l.message)));
  // Opening outage: the path refuses until the queue has filled the store to
  // store.maxBytes, so the full-store path (intake pauses, frees by itself) is
  // exercised on every run, not only when the random faults happen to last.
  // The path then comes back to a receiver answering badly, so the backlog
  // meets HTTP faults (and is retried) before it drains.
  netGen++;
  await proxy.setMode('refuse');
  const fillStart = Date.now();
  while (!storeFullLogged() && !pushesDone && Date.now() - fillStart < MAX_FILL_MS) await sleep(50);
  t.comment(`opening outage ${Date.now() - fillStart} ms; store full: ${storeFullLogged()}`);
  httpGen++;
  httpMode = faults.pick(['5xx', '429', 'flaky'] as const);
  await proxy.setMode('pass');
  const badStart = Date.now();
  while (refused === 0 && Date.now() - badStart < MAX_FILL_MS) await sleep(20);
  await sleep(faults.int(100, 800));
  httpMode = 'ok';
  // Every kind of fault happens at least once: the first three are a seeded
  // order of the three kinds, then they are drawn at random.
  const firstFaults = (['kill', 'net', 'http'] as const).map((a) => ({ a, k: faults.next() })).sort((x, y) => x.k - y.k).map((x) => x.a);
  while ((!pushesDone || firstFaults.length || deliveredEvents() < CHAOS_UNTIL_DELIVERED * pushLog.length) && Date.now() - chaosStart < MAX_CHAOS_MS) {
    await sleep(faults.int(150, 700));
    const action = firstFaults.shift() ?? faults.pick(['kill', 'net', 'net', 'http', 'http', 'http'] as const);
    if (action === 'kill') {
      if (tally.kills >= MAX_KILLS) continue;
      tally.kills++;
      const d = current!;
      killing = true;
      d.child.kill('SIGKILL');
      await d.exited;
      killing = false;
      await sleep(faults.int(0, 400));
      await start();
    } else if (action === 'net') {
      tally.net++;
      const mode = faults.pick(['hang', 'reset', 'refuse'] as const satisfies readonly ProxyMode[]);
      const gen = ++netGen;
      await proxy.setMode(mode);
      const ms = faults.int(200, 1_500);
      setTimeout(() => {
        if (gen === netGen) void proxy.setMode('pass');
      }, ms);
    } else {
      tally.http++;
      const mode = faults.pick(['5xx', '429', 'flaky', 'slow'] as const);
      const gen = ++httpGen;
      httpMode = mode;
      const ms = faults.int(200, 1_500);
      setTimeout(() => {
        if (gen === httpGen) httpMode = 'ok';
      }, ms);
    }
  }
  await pushing;
  netGen++;
  httpGen++;
  await proxy.setMode('pass');
  httpMode = 'ok';
  t.comment(`chaos phase ${Date.now() - chaosStart} ms; faults: ${tally.kills} SIGKILLs, ${tally.net} network cuts, ${tally.http} bad-answer spells; pushes: ${pushLog.length}`);
  t.same(pushFailures, [], 'every push succeeded (the hook never fails a push)');

  // --- converge --------------------------------------------------------------
  const byKey = new Map<string, PushRecord>();
  for (const p of pushLog) for (const u of p.updates) byKey.set(keyOf(u), p);
  const deliveredKeys = (): Set<string> => new Set(accepted.flatMap((a) => a.event.refs.map((r) => keyOf(r))));
  const missing = (): string[] => [...byKey.keys()].filter((k) => !deliveredKeys().has(k));
  let counts = queueCounts(fx.storePath);
  try {
    await waitUntil(
      () => {
        if (missing().length || fx.incoming().length) return false;
        counts = queueCounts(fx.storePath);
        return counts.pending + counts.inFlight === 0;
      },
      'every ref update delivered, spool and queue empty',
      CONVERGE_MS,
      200,
    );
    t.comment(`converged ${Date.now() - chaosStart} ms after the first push`);
  } catch (err) {
    t.fail(`${(err as Error).message}: ${missing().length} ref updates undelivered, ${fx.incoming().length} records in incoming/, queue ${JSON.stringify(queueCounts(fx.storePath))}\n${current!.output().slice(-4000)}`);
  }
  t.same(unexpectedExits, [], 'the daemon never died except by our SIGKILL');

  // --- verdicts --------------------------------------------------------------
  t.same(missing(), [], `every one of the ${byKey.size} ref updates pushed was delivered at least once`);
  // Each delivered event is exactly one push: the same set of ref updates.
  const eventPush = new Map<string, PushRecord>();
  const strays: string[] = [];
  for (const a of accepted) {
    const pushes = new Set(a.event.refs.map((r) => byKey.get(keyOf(r))));
    const push = [...pushes][0];
    if (pushes.size !== 1 || !push || push.updates.length !== a.event.refs.length) {
      strays.push(`event ${a.event.id}: refs ${a.event.refs.map(keyOf).join(', ')}`);
      continue;
    }
    eventPush.set(a.event.id, push);
  }
  t.same(strays, [], 'every delivered event is exactly one push (no merged, split or invented events)');
  // Per repository, the first delivery of each event follows push order.
  const firstSeen = new Map<PushRecord, number>();
  for (const a of accepted) {
    const p = eventPush.get(a.event.id);
    if (p && !firstSeen.has(p)) firstSeen.set(p, a.n);
  }
  for (const name of REPOS) {
    const pushed = pushLog.filter((p) => p.repo === name).map((p) => p.index);
    const delivered = [...firstSeen.entries()].filter(([p]) => p.repo === name).sort((x, y) => x[1] - y[1]).map(([p]) => p.index);
    t.same(delivered, pushed, `${name}: events first delivered in push order (${pushed.length} pushes)`);
  }
  // Duplicates: the same delivery accepted again, or the same push under another event id.
  const seenDeliveries = new Set<string>();
  let duplicateDeliveries = 0;
  for (const a of accepted) {
    if (seenDeliveries.has(a.deliveryId)) duplicateDeliveries++;
    seenDeliveries.add(a.deliveryId);
  }
  const eventsPerPush = new Map<PushRecord, Set<string>>();
  for (const [id, p] of eventPush) eventsPerPush.set(p, (eventsPerPush.get(p) ?? new Set()).add(id));
  const reanalyzed = [...eventsPerPush.values()].filter((s) => s.size > 1).length;
  t.comment(`duplicates: ${duplicateDeliveries + reanalyzed} (${duplicateDeliveries} deliveries accepted more than once, ${reanalyzed} pushes under a second event id) of ${accepted.length} accepted requests, ${receiver.requests.length} requests in all`);
  t.equal(reanalyzed, 0, 'a push re-read after a crash keeps its event id (stable delivery ids make duplicates detectable)');

  // Nothing left behind.
  t.same(fx.incoming(), [], 'spool incoming/ is empty');
  t.same(readdirSync(path.join(fx.spoolDir, 'quarantine')), [], 'nothing was quarantined');
  counts = queueCounts(fx.storePath);
  t.equal(counts.pending + counts.inFlight, 0, 'no queued deliveries left in the store');
  t.equal(counts.dead, 0, 'no dead letters (every failure was retryable)');

  // The store bound was really reached, and left again by itself.
  t.ok(storeFullLogged(), 'the store reached store.maxBytes at least once (intake paused)');
  t.ok(tally.kills > 0 && tally.net > 0 && tally.http > 0, 'every kind of fault happened');
  t.ok(refused > 0, `the receiver turned away ${refused} requests (faults hit deliveries, not just idle time)`);

  killing = true;
  current!.child.kill('SIGTERM');
  const exit = await current!.exited;
  t.equal(exit.code, 0, 'a clean stop at the end');
});
