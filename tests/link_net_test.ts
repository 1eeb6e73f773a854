// @guest
// cgroup programs on a cgroup v2 directory, sk_lookup and flow_dissector on a network
// namespace, socket filters on a packet socket and on a socket the script owns: each
// attached, triggered for real, and gone from bpftool's listings once closed.
import { BpfError, BpfObject } from "../mod.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { bpfTest, fixture } from "./helpers.ts";
import {
  cgroupPrograms,
  eventually,
  insideCgroup,
  kernelLinks,
  tcpExchange,
  withCgroup,
} from "./link_helpers.ts";

async function netKinds() {
  const obj = await BpfObject.open(fixture("net_kinds"));
  obj.load();
  const seen = obj.map<number, bigint>("seen");
  return { obj, seen: (slot: number) => seen.get(slot) ?? 0n };
}

bpfTest(
  "cgroup_skb, cgroup/connect4 and sockops count a cgroup's traffic, then detach",
  async () => {
    const { obj, seen } = await netKinds();
    try {
      await withCgroup(async (cg) => {
        assertEquals(cgroupPrograms(cg), []);
        const links = ["skb_in", "skb_out", "on_connect4", "on_sockops"]
          .map((p) => obj.program(p).attach(cg));
        assertEquals(cgroupPrograms(cg).sort(), ["on_connect4", "on_sockops", "skb_in", "skb_out"]);
        await tcpExchange((port) =>
          insideCgroup(cg, () => Deno.connect({ hostname: "127.0.0.1", port }))
        );
        assert(seen(0) > 0n, "cgroup_skb/ingress saw the replies");
        assert(seen(1) > 0n, "cgroup_skb/egress saw the sends");
        assertEquals(seen(2), 1n, "cgroup/connect4 saw the one connect");
        assert(seen(3) > 0n, "sockops saw the TCP connection's events");
        // Traffic from outside the cgroup is not counted.
        const before = seen(2);
        await tcpExchange();
        assertEquals(seen(2), before);
        for (const l of links) l.close();
        await eventually("the cgroup has no program", () => cgroupPrograms(cg).length === 0);
      });
    } finally {
      obj.close();
    }
  },
);

bpfTest("cgroup attach errors: not a cgroup v2 directory, no such cgroup, no target", async () => {
  const { obj } = await netKinds();
  try {
    const prog = obj.program("skb_in");
    const fails = (target?: string) => {
      try {
        prog.attach(target).close();
      } catch (e) {
        assert(e instanceof BpfError, String(e));
        return e.message;
      }
      throw new Error(`${target} attached`);
    };
    assertMatch(fails("/tmp"), "not inside the cgroup v2 hierarchy");
    assertMatch(fails("no-such-cgroup-bpfsh"), "no cgroup");
    assertMatch(fails(), "does not say where to attach");
    assertMatch(fails("../../etc"), "'..'");
  } finally {
    obj.close();
  }
});

bpfTest(
  "sk_lookup counts socket lookups in this namespace; flow_dissector attaches to another",
  async () => {
    const { obj, seen } = await netKinds();
    const ns = new Deno.Command("unshare", { args: ["-n", "sleep", "30"] }).spawn();
    try {
      const lookup = obj.program("on_lookup").attach(); // this process's namespace
      await tcpExchange();
      assert(seen(4) > 0n, "sk_lookup ran for the connection's SYN");
      lookup.close();
      // A namespace of its own, so the host's flow dissection is left alone.
      let dissect;
      for (let i = 0; i < 50 && !dissect; i++) {
        try {
          dissect = obj.program("on_dissect").attach(`/proc/${ns.pid}/ns/net`);
        } catch (e) {
          if (i === 49) throw e;
          await new Promise((r) => setTimeout(r, 20)); // unshare has not run yet
        }
      }
      const id = Number(
        /prog_id:\s*(\d+)/.exec(
          Deno.readTextFileSync(`/proc/self/fdinfo/${obj.program("on_dissect").fd}`),
        )?.[1],
      );
      assert(kernelLinks("netns").includes(id), "bpftool lists the netns link");
      // What the dissector returns, through a test run on an IPv4 packet.
      const pkt = new Uint8Array(64);
      pkt.set([0x08, 0x00], 12);
      pkt[14] = 0x45;
      assertEquals(obj.program("on_dissect").testRun({ data: pkt }).retval, 0);
      dissect!.close();
      await eventually("the netns link is gone", () => !kernelLinks("netns").includes(id));
    } finally {
      ns.kill();
      await ns.status;
      obj.close();
    }
  },
);

const libc = Deno.dlopen("libc.so.6", {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
});

/** A UDP socket of the script's own on 127.0.0.1, and its address. */
function udpSocket(): { fd: number; addr: Uint8Array } {
  const fd = libc.symbols.socket(2, 2, 0); // AF_INET, SOCK_DGRAM
  const addr = new Uint8Array(16);
  new DataView(addr.buffer).setUint16(0, 2, true);
  addr.set([127, 0, 0, 1], 4);
  assert(libc.symbols.bind(fd, addr, 16) === 0, "bind");
  const len = new Uint32Array([16]);
  libc.symbols.getsockname(fd, addr, new Uint8Array(len.buffer));
  return { fd, addr };
}

bpfTest(
  "socket filters see packets on a packet socket on lo, and on the script's own socket",
  async () => {
    const { obj, seen } = await netKinds();
    try {
      const onLo = obj.program("on_packet").attach("lo");
      assert(onLo.fd >= 0, "the link holds the packet socket");
      await tcpExchange();
      assert(seen(6) > 0n, "the filter saw lo's packets");
      onLo.close();
      obj.map("seen").clear();
      const mine = udpSocket();
      const other = udpSocket();
      try {
        const link = obj.program("on_packet").attach(undefined, { fd: mine.fd });
        for (let i = 0; i < 3; i++) {
          libc.symbols.sendto(
            other.fd,
            new Uint8Array(8),
            8n,
            0,
            mine.addr,
            16,
          );
        }
        await eventually("3 datagrams filtered", () => seen(6) === 3n);
        link.close();
        libc.symbols.sendto(other.fd, new Uint8Array(8), 8n, 0, mine.addr, 16);
        await new Promise((r) => setTimeout(r, 20));
        assertEquals(seen(6), 3n, "a detached filter sees nothing");
      } finally {
        libc.symbols.close(mine.fd);
        libc.symbols.close(other.fd);
      }
      try {
        obj.program("on_packet").attach(undefined, { fd: 0 });
        throw new Error("attached to stdin");
      } catch (e) {
        assert(e instanceof BpfError, String(e));
        assertMatch(e.hint ?? "", "not a socket");
      }
    } finally {
      obj.close();
    }
  },
);
