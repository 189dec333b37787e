// berryMQ 0.3's own tests (python3/tests/test_berrymq.py and test_berrymq_pull.py in shibukawa/berrymq),
// restated in TypeScript against this API: what 0.3 promised, this bus keeps. Where 0.3's API differs in
// form (Python kwargs, metaclasses), the closest TypeScript form is used.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { autoTwitter, Bus, Follower, following, isLocal, kw, matches, type Message, parseIdentifier, Queue } from "../../lib/index.js";

describe("berryMQ 0.3 parity: IdentifierTest", () => {
  const cases: [string, string, string][] = [
    ["test_match", "id_sample1:entry", "id_sample1:entry"],
    ["test_match_only_name", "id_sample2", "id_sample2:entry"],
    ["test_wildcard_action", "id_sample3:test", "id_sample3:*"],
    ["test_wildcard_name_1", "id_sample4:entry", "*:entry"],
    ["test_wildcard_name_2", "*:entry", "id_sample4:entry"],
    ["test_wildcard_all_1", "id_sample5:entry", "*:*"],
    ["test_wildcard_all_2", "id_sample6:entry", "*"],
  ];
  for (const [name, exposer, follower] of cases) {
    it(`${name}: ${follower} follows ${exposer}`, () => assert.equal(matches(follower, exposer), true));
  }
  it("test_local_namespace", () => assert.equal(isLocal(parseIdentifier("_id_sample7:entry")), true));
  it("test_namespace", () => {
    assert.equal(parseIdentifier("id_sample8@layer:entry").namespace, "layer");
    assert.equal(parseIdentifier("*@layer:entry").namespace, "layer");
    assert.equal(matches("*@layer:entry", "id_sample8@layer:entry"), true);
  });
});

describe("berryMQ 0.3 parity: TestMessageSendAndReceive", () => {
  it("test_received_by_function1: auto_twitter(entry=True) sends entry only, before the call", () => {
    const bus = new Bus();
    const history: string[] = [];
    const expose = autoTwitter("sample1", { bus, entry: true })(() => void history.push("expose"));
    bus.follow("sample1:entry", (m) => {
      assert.equal(m.id, "sample1:entry");
      history.push("entry");
    });
    bus.follow("sample1:exit", () => void history.push("exit"));
    expose();
    assert.deepEqual(history, ["entry", "expose"]);
  });

  it("test_received_by_function2: auto_twitter(exit=True) sends exit only, after the call", () => {
    const bus = new Bus();
    const history: string[] = [];
    const expose = autoTwitter("sample2", { bus, exit: true })(() => void history.push("expose"));
    bus.follow("sample2:*", (m) => void history.push(m.action));
    expose();
    assert.deepEqual(history, ["expose", "exit"]);
  });

  it("test_auto_twitter: entry, call, exit", () => {
    const bus = new Bus();
    const history: string[] = [];
    const expose = autoTwitter("sample3", { bus })(() => void history.push("expose"));
    bus.follow("sample3:entry", () => void history.push("entry"));
    bus.follow("sample3:exit", () => void history.push("exit"));
    expose();
    assert.deepEqual(history, ["entry", "expose", "exit"]);
  });

  it("test_original_exposepoint and test_wildcard_following", () => {
    const bus = new Bus();
    const history: string[] = [];
    bus.follow("sample4:original", () => void history.push("original"));
    bus.follow("*:action", () => void history.push("accept"));
    history.push("expose");
    bus.twitter("sample4:original");
    bus.twitter("sample10:action");
    assert.deepEqual(history, ["expose", "original", "accept"]);
  });

  it("test_staticmethod / test_classmethod: a static method follows, with the class as this", () => {
    const bus = new Bus();
    const history: string[] = [];
    const expose = autoTwitter("sample5:entry", { bus })(() => void history.push("expose"));
    // biome-ignore lint/complexity/noStaticOnlyClass: 0.3's test_staticmethod, restated
    class TestClass {
      @following("sample5:entry", { bus })
      static testEntry(this: typeof TestClass, _message: Message): void {
        // biome-ignore lint/complexity/noThisInStatic: `this` being the class is what is tested
        history.push(this === TestClass ? "entry" : "wrong this");
      }
    }
    expose();
    assert.deepEqual(history, ["entry", "expose"]);
    assert.equal(bus.unregister(TestClass), true);
  });

  it("test_instancemethod: a Follower instance follows", () => {
    const bus = new Bus();
    const history: string[] = [];
    const expose = autoTwitter("sample7:entry", { bus })(() => void history.push("expose"));
    @Follower({ bus })
    class TestClass {
      @following("sample7:entry")
      testEntry(_message: Message): void {
        history.push("entry");
      }
    }
    const instance = new TestClass();
    expose();
    assert.deepEqual(history, ["entry", "expose"]);
    bus.unregister(instance);
  });

  it("test_guard_condition_test: entry and exit carry the call's arguments, so a guard on args[0] filters both", () => {
    const bus = new Bus();
    const history: string[] = [];
    const expose = autoTwitter("sample8", { bus })((_arg: string) => void history.push("expose"));
    const guard = (m: Message): boolean => m.args[0] === "match";
    bus.follow("sample8:entry", () => void history.push("entry"), { guard });
    bus.follow("sample8:exit", () => void history.push("exit"), { guard });
    expose("not match");
    assert.deepEqual(history, ["expose"]);
    expose("match");
    assert.deepEqual(history, ["expose", "entry", "expose", "exit"]);
  });

  it("test_wildcard: a sender's wildcard reaches a concrete follower", () => {
    const bus = new Bus();
    const history: string[] = [];
    bus.follow("sample10:test", () => void history.push("called"));
    bus.twitter("*:test");
    assert.deepEqual(history, ["called"]);
  });
});

describe("berryMQ 0.3 parity: TestQueue and TestPullAPI", () => {
  it("test_empty_queue", async () => {
    const queue = new Queue("pull_api1:*", { bus: new Bus() });
    assert.equal(queue.qsize(), 0);
    assert.equal(queue.empty(), true);
    assert.equal(queue.full(), false);
    assert.throws(() => queue.getNowait(), /is empty/);
    queue.close();
  });

  it("test_standalone_queue_object_api", async () => {
    const bus = new Bus();
    const queue = new Queue("pull_api2:*", { bus });
    bus.twitter("pull_api2:test", "arg1", kw({ kwargs: "kwargs" }));
    assert.equal(queue.qsize(), 1);
    const message = await queue.get();
    assert.equal(message.name, "pull_api2");
    assert.equal(message.action, "test");
    assert.equal(message.args[0], "arg1");
    assert.equal(message.kwargs.kwargs, "kwargs");
    queue.close();
  });
});
