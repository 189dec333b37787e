import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LinkTable, type Neighbour, REQUEST_PATHS_LIMIT, type RoutedLink } from "../../bridges/link-table.js";
import type { Identifier } from "../../lib/identifier.js";

// A link as the table sees it; `closing` can be flipped.
class FakeLink implements RoutedLink {
  readonly exports: readonly Identifier[] = [];
  closing = false;
  constructor(readonly linkedBusId: string | undefined) {}
  announce(_neighbours: readonly Neighbour[]): void {}
}

describe("LinkTable answer paths", () => {
  it("sends an answer back by the link its request came in by, also for requests from before a second link started", () => {
    const table = new LinkTable();
    const first = new FakeLink("far-1");
    table.add(first);
    table.requestCameThrough("far-1/1", first);
    const second = new FakeLink("far-2");
    table.add(second);
    table.requestCameThrough("far-2/1", second);
    assert.equal(table.answerPath("far-1/1"), first);
    assert.equal(table.answerPath("far-2/1"), second);
    assert.equal(table.answerPath("nobody/1"), undefined);
  });

  it("keeps the link a request first came in by", () => {
    const table = new LinkTable();
    const first = new FakeLink("far-1");
    const second = new FakeLink("far-2");
    table.add(first);
    table.requestCameThrough("far-1/1", first);
    table.requestCameThrough("far-1/1", second);
    table.add(second);
    table.requestCameThrough("far-1/1", second);
    assert.equal(table.answerPath("far-1/1"), first);
  });

  it("forgets the requests of a link that closed, and gives no closing link", () => {
    const table = new LinkTable();
    const first = new FakeLink("far-1");
    const second = new FakeLink("far-2");
    table.add(first);
    table.add(second);
    table.requestCameThrough("far-1/1", first);
    table.requestCameThrough("far-2/1", second);
    second.closing = true;
    assert.equal(table.answerPath("far-2/1"), undefined);
    table.remove(first);
    assert.equal(table.answerPath("far-1/1"), undefined);
    // The id may come again by another link once its first link is gone.
    table.requestCameThrough("far-1/1", second);
    second.closing = false;
    assert.equal(table.answerPath("far-1/1"), second);
  });

  it("with one link, answers go by it; with none, nowhere", () => {
    const table = new LinkTable();
    assert.equal(table.answerPath("far-1/1"), undefined);
    const only = new FakeLink("far-1");
    table.add(only);
    table.requestCameThrough("far-1/1", only);
    assert.equal(table.answerPath("far-1/1"), only);
    only.closing = true;
    assert.equal(table.answerPath("far-1/1"), undefined);
  });

  it(`remembers the last ${REQUEST_PATHS_LIMIT} requests, whether they came before or after a second link`, () => {
    const table = new LinkTable();
    const first = new FakeLink("far-1");
    const second = new FakeLink("far-2");
    table.add(first);
    for (let i = 0; i < REQUEST_PATHS_LIMIT + 10; i++) table.requestCameThrough(`far-1/${i}`, first);
    table.add(second);
    assert.equal(table.answerPath("far-1/9"), undefined, "dropped before the second link");
    assert.equal(table.answerPath("far-1/10"), first);
    for (let i = 0; i < 10; i++) table.requestCameThrough(`far-2/${i}`, second);
    assert.equal(table.answerPath("far-1/19"), undefined, "dropped after the second link");
    assert.equal(table.answerPath("far-1/20"), first);
    assert.equal(table.answerPath(`far-1/${REQUEST_PATHS_LIMIT + 9}`), first);
    assert.equal(table.answerPath("far-2/9"), second);
  });
});
