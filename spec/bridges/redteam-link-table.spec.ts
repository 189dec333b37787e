// Red team (r18): the answer paths of LinkTable as two rings, and the Map built once a second link
// starts. A seeded run of requests, repeated ids, links starting and closing, checked against what must
// hold whatever the bookkeeping: an answer never goes by a link its request did not come in by, never by
// a closed or closing link, and a recent request's link is found.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LinkTable, type Neighbour, REQUEST_PATHS_LIMIT, type RoutedLink } from "../../bridges/link-table.js";
import type { Identifier } from "../../lib/identifier.js";
import { random } from "../helpers/seeded-random.js";

class FakeLink implements RoutedLink {
  readonly exports: readonly Identifier[] = [];
  closing = false;
  constructor(readonly linkedBusId: string | undefined) {}
  announce(_neighbours: readonly Neighbour[]): void {}
}

describe("red team: LinkTable answer paths under churn", () => {
  it("60,000 seeded requests (repeats, a second and third link starting mid-stream, links closing): an answer goes only by an open link its request came in by, and a recent single-arrival request's link is found", () => {
    const seed = 0x718b1e;
    const rand = random(seed);
    const table = new LinkTable();
    let made = 0;
    const open: FakeLink[] = [];
    const start = (): FakeLink => {
      const link = new FakeLink(`far-${made++}`);
      open.push(link);
      table.add(link);
      return link;
    };
    start();
    // Every link each id came in by, and the arrival number of its last arrival.
    const cameBy = new Map<string, Set<RoutedLink>>();
    const arrivals: string[] = [];
    let n = 0;
    for (let step = 0; step < 60_000; step++) {
      const r = rand();
      if (r < 0.0004 && open.length < 4) start();
      else if (r < 0.0006 && open.length > 1) {
        const gone = open.splice(Math.floor(rand() * open.length), 1)[0] as FakeLink;
        if (rand() < 0.5) gone.closing = true;
        else table.remove(gone);
        gone.closing = true;
      } else {
        const link = open[Math.floor(rand() * open.length)] as FakeLink;
        // Now and then a request comes again (a resend), by the same or another link.
        const id =
          rand() < 0.05 && arrivals.length > 0 ? (arrivals[Math.floor(rand() * arrivals.length)] as string) : `bus/${n++}`;
        table.requestCameThrough(id, link);
        let links = cameBy.get(id);
        if (links === undefined) {
          links = new Set();
          cameBy.set(id, links);
        }
        links.add(link);
        arrivals.push(id);
      }
      if (step % 997 === 0) {
        // Check a sample: recent ids and old ones.
        for (let k = 0; k < 50; k++) {
          const id = arrivals[Math.floor(rand() * arrivals.length)];
          if (id === undefined) continue;
          const path = table.answerPath(id);
          if (path === undefined) continue;
          assert.ok(!(path as FakeLink).closing, `seed ${seed} step ${step}: ${id} answered by a closed link`);
          if (open.length > 1 || made > 1) {
            // With one link ever, that link is the answer whatever the id.
            assert.ok(
              cameBy.get(id)?.has(path) === true || open.length === 1,
              `seed ${seed} step ${step}: ${id} answered by a link it never came by`,
            );
          }
        }
        // The last request, if it came once by an open link, is found (with two or more links open).
        const last = arrivals[arrivals.length - 1];
        const by = last === undefined ? undefined : cameBy.get(last);
        if (
          last !== undefined &&
          by?.size === 1 &&
          open.length > 1 &&
          arrivals.indexOf(last) > arrivals.length - REQUEST_PATHS_LIMIT / 2
        ) {
          const [only] = by;
          if (!(only as FakeLink).closing)
            assert.equal(table.answerPath(last), only, `seed ${seed} step ${step}: ${last} lost its path`);
        }
      }
    }
    assert.ok(made >= 3, "the run started a second and a third link");
  });

  it("with 20,000+ outstanding requests on two links, each of the last 20,000 answers by its own link and the evicted ones by none", () => {
    const table = new LinkTable();
    const a = new FakeLink("far-a");
    const b = new FakeLink("far-b");
    table.add(a);
    // A stream from a alone, then b starts in the middle of it.
    for (let i = 0; i < 5_000; i++) table.requestCameThrough(`r/${i}`, a);
    table.add(b);
    const total = REQUEST_PATHS_LIMIT + 7_000;
    for (let i = 5_000; i < total; i++) table.requestCameThrough(`r/${i}`, i % 3 === 0 ? b : a);
    for (let i = 0; i < total; i++) {
      const expected = i < total - REQUEST_PATHS_LIMIT ? undefined : i >= 5_000 && i % 3 === 0 ? b : a;
      assert.equal(table.answerPath(`r/${i}`), expected, `r/${i}`);
    }
    // b closes: its requests have no path; a's keep theirs.
    table.remove(b);
    for (let i = total - 100; i < total; i++)
      assert.equal(table.answerPath(`r/${i}`), i % 3 === 0 ? undefined : a, `after b closed: r/${i}`);
  });
});
