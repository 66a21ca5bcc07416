// The benchmark workloads as one Restate service, written with Restate's TypeScript SDK: each
// Kestra task becomes a durable step (`ctx.run`), journaled by the Restate server before the
// handler goes on.
// The SDK calls Promise.withResolvers (Node 22); this machine has Node 20.
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new this((a, b) => {
      resolve = a;
      reject = b;
    });
    return { promise, resolve, reject };
  };
}
const restate = await import("@restatedev/restate-sdk");

const noop = (i) => async () => `task ${i}`;

async function seq(ctx, n) {
  let last = null;
  for (let i = 0; i < n; i++) {
    last = await ctx.run(`t${i}`, noop(i));
  }
  return last;
}

const bench = restate.service({
  name: "bench",
  handlers: {
    seq1: async (ctx) => seq(ctx, 1),
    seq3: async (ctx) => seq(ctx, 3),
    seq10: async (ctx) => seq(ctx, 10),
    seq40: async (ctx) => seq(ctx, 40),
    // Kestra's benchmark 1: OutputValues, then Log of that output
    benchmark01: async (ctx) => {
      const out = await ctx.run("concatenate", async () => ({ message: "Hello World" }));
      await ctx.run("hello", async () => {
        ctx.console.info(out.message);
      });
      return out;
    },
    // Kestra's benchmark 2: five If, each running one Log
    if5: async (ctx) => {
      const condition = true;
      for (let i = 1; i <= 5; i++) {
        const branch = await ctx.run(`if${i}`, async () => condition);
        await ctx.run(`hello-${branch}-${i}`, async () => {
          ctx.console.info(`Hello ${branch ? "True" : "False"} ${i}`);
        });
      }
      return "ok";
    },
    // Kestra's benchmark 3: a ForEach over n values, all at once, one OutputValues per value
    foreach: async (ctx, n) => {
      const count = Number(n) || 100;
      const steps = [];
      for (let i = 1; i <= count; i++) {
        steps.push(ctx.run(`output-${i}`, async () => ({ some: "value" })));
      }
      await restate.RestatePromise.all(steps);
      return count;
    },
    // W5: ten steps of 100 ms each, so executions are in flight when the server is killed
    slow10: async (ctx) => {
      for (let i = 0; i < 10; i++) {
        await ctx.run(`s${i}`, () => new Promise((r) => setTimeout(() => r(i), 100)));
      }
      return "ok";
    },
  },
});

const port = Number(process.argv[2] || 9080);
const http2 = await import("node:http2");
const handler = restate.createEndpointHandler({ services: [bench] });
http2.createServer(handler).listen(port, "127.0.0.1", () => console.log(`listening on 127.0.0.1:${port}`));
