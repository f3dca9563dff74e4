// A minimal Fedify inbox for Intercoop's benchmark (`bench`): the same
// signed Create(Note) load that Intercoop receives is sent here, so that
// both servers' CPU per activity is measured in one run, on one machine.
//
//   node bench-inbox.mjs
//
// Listens on 127.0.0.1 (a free port), prints `READY <origin>` on stdout,
// verifies each POST /inbox's HTTP signature (fetching and caching the
// sender's key, as Fedify does by default), and keeps each Note's id and
// content in memory. GET /count answers how many Notes it has kept.

import http from "node:http";

import { createFederation, MemoryKvStore } from "@fedify/fedify";
import { Create, Endpoints, Person } from "@fedify/vocab";
import { configure, getConsoleSink } from "@logtape/logtape";

await configure({
  sinks: { console: getConsoleSink() },
  loggers: [{ category: "fedify", lowestLevel: "error", sinks: ["console"] }],
});

const stored = new Map();
let federation;

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    process.stderr.write(`bench-inbox: ${e}\n`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function handle(req, res) {
  const origin = `http://127.0.0.1:${server.address().port}`;
  const url = new URL(req.url ?? "/", origin);
  if (url.pathname === "/count") {
    const body = JSON.stringify({ count: stored.size });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  const body = await readBody(req);
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const request = new Request(url, {
    method: req.method,
    headers,
    body: hasBody ? body : undefined,
    duplex: "half",
  });
  const response = await federation.fetch(request, { contextData: undefined });
  const out = Buffer.from(await response.arrayBuffer());
  const h = {};
  for (const [k, v] of response.headers) h[k] = v;
  h["content-length"] = out.length;
  res.writeHead(response.status, h);
  res.end(out);
}

server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const origin = `http://127.0.0.1:${server.address().port}`;
  federation = createFederation({
    kv: new MemoryKvStore(),
    origin,
    // The benchmark's sender lives on loopback.
    allowPrivateAddress: true,
  });
  federation.setActorDispatcher("/users/{identifier}", (ctx, identifier) =>
    identifier === "bench"
      ? new Person({
          id: ctx.getActorUri(identifier),
          preferredUsername: identifier,
          inbox: ctx.getInboxUri(identifier),
          endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        })
      : null
  );
  federation
    .setInboxListeners("/users/{identifier}/inbox", "/inbox")
    .on(Create, async (_ctx, create) => {
      const note = await create.getObject();
      if (note?.id != null) stored.set(note.id.href, note.content?.toString() ?? "");
    });
  process.stdout.write(`READY ${origin}\n`);
});
