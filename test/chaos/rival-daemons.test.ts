// Chaos: rival daemons racing for one store while pushes stream in and the
// running daemon is SIGKILLed (twice). Exactly one daemon runs at a time,
// every push is delivered (0 lost) in push order per repository, and the
// store's invariant (every event has its delivery rows) holds at the end.

import t from 'tap';
import { waitUntil } from '../helpers/relay-fixture.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { allArrived, checkDelivered, pushAll, setup, startRival, type Rival } from './race-kit.ts';

t.test('rival daemons race for the store while pushes stream in and the holder is SIGKILLed: one runs at a time, 0 lost', async (t) => {
  const rx = await startReceiver();
  t.teardown(() => rx.close());
  const { fx, repos } = setup(t, rx, 'relay-chaos-rivals-');
  const all: Rival[] = [];
  t.teardown(() => all.forEach((r) => r.kill()));
  const race = async (n: number): Promise<Rival> => {
    const rivals = Array.from({ length: n }, () => startRival(fx));
    all.push(...rivals);
    const outcomes = await Promise.all(rivals.map((r) => r.outcome));
    const winners = rivals.filter((_, i) => outcomes[i].started);
    t.equal(winners.length, 1, `${n} daemons started at once: exactly one runs`);
    for (const o of outcomes.filter((x) => !x.started)) t.match(o.output, /relay daemon: not started: store .* is in use by the relay daemon/, 'the others refuse, naming the holder');
    return winners[0];
  };

  let holder = await race(3);
  let pushes = 0;
  let kills = 0;
  // Pushes of the three repositories run in parallel; the fault actions take turns.
  let turn = Promise.resolve();
  const inTurn = (action: () => Promise<void>) => (): Promise<void> => (turn = turn.then(action));
  const pushed = await pushAll(fx, repos, 6, inTurn(async () => {
    pushes++;
    if (pushes % 6 === 0 && kills < 2) {
      // The holder dies without a word; two successors race for the store.
      kills++;
      holder.kill('SIGKILL');
      await holder.outcome;
      await new Promise((r) => setTimeout(r, 50));
      holder = await race(2);
    } else if (pushes % 4 === 0) {
      // A rival while one runs: refused at once.
      const r = startRival(fx);
      all.push(r);
      const o = await r.outcome;
      t.notOk(o.started, 'a rival beside a running daemon is refused');
    }
  }));
  await waitUntil(() => allArrived(rx, pushed), 'every push delivered', 45_000);
  checkDelivered(t, rx, pushed);
  t.equal(fx.incoming().length, 0, 'spool empty');
  const status = JSON.parse(fx.relay(['status', '--json']).stdout);
  t.same(status.store.problems, [], 'store invariant holds: every event has its delivery rows');
  t.equal(kills, 2, 'the holder was SIGKILLed twice');
});
