// Independent ActivityPub test peer built on Fedify, used by Intercoop's
// federation tests.  It is *not* part of Intercoop: it is a second,
// unrelated implementation that our server has to interoperate with.
//
//   node peer.mjs --port P [--name alice]
//                 [--first-knock rfc9421|draft-cavage-http-signatures-12]
//                 [--key-type rsa2048|rsa4096]
//                 [--on-follow accept|reject|ignore]
//                 [--log-level debug|info|warning|error]
//
// Serves plain http on 127.0.0.1:P (origin http://127.0.0.1:P; --port 0
// picks a free port) with one Person actor at /users/{name}, and a JSON
// control API under /control/.  Prints `READY <actor url>` on stdout once
// listening; everything else goes to stderr.  All state is in memory.
//
// Control API (JSON; POST bodies are JSON objects; POST routes that send
// an activity answer {ok:true, id:<activity id>} or {ok:false, error}):
//   GET  /control/health    -> {ok, actor, name, origin}
//   GET  /control/inbox     -> {activities: [{type, id, actor, object, raw,
//                               receivedAt, path, httpSignature, ...}]}
//   GET  /control/outgoing  -> {requests: [{method, url, spec, status, ...}]}
//   GET  /control/state     -> {actor, followers, following, joins}
//   POST /control/reset     {}                       clears inbox/outgoing
//   POST /control/lookup    {url}                    -> {ok, type, id, ..., json}
//   POST /control/follow    {actor}                  Follow
//   POST /control/unfollow  {actor}                  Undo(Follow)
//   POST /control/join      {object: event, to: organizer actor}   Join
//   POST /control/leave     {object: event, to: organizer actor}   Leave
//   POST /control/undo-join {object: event, to?: organizer actor}
//                            Undo(the Join sent earlier for that event)
//   POST /control/vote      {question, name, to: actor}
//                            Create(Note{name, inReplyTo: question}), a
//                            Mastodon-style poll vote; -> also {note}
//   POST /control/reply     {inReplyTo, content, to: actor}
//                            public Create(Note{content, inReplyTo}), cc
//                            the actor; -> also {note}
//   POST /control/fetch     {url}    signed GET as our actor
//                            -> {ok, document: <raw JSON>, documentUrl}
//
// Requires Node >= 22 (see ../../setup-peers.sh).

import { randomUUID } from "node:crypto";
import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import { parseArgs } from "node:util";

import { createFederation, MemoryKvStore } from "@fedify/fedify";
import { verifyRequestDetailed } from "@fedify/fedify/sig";
import {
  Accept,
  Activity,
  Announce,
  Create,
  Delete,
  Endpoints,
  Follow,
  getTypeId,
  isActor,
  Join,
  Leave,
  Like,
  Mention,
  Note,
  PUBLIC_COLLECTION,
  Reject,
  Undo,
  Update,
  Person,
} from "@fedify/vocab";
import { configure, getTextFormatter } from "@logtape/logtape";
// Fedify's own Temporal polyfill (a dependency of @fedify/vocab); Node 22
// has no global Temporal.
import { Temporal } from "@js-temporal/polyfill";

// ---------------------------------------------------------------------------
// Command line

function usage(message) {
  if (message) process.stderr.write(`peer.mjs: ${message}\n`);
  process.stderr.write(
    "usage: node peer.mjs --port P [--name alice] " +
      "[--first-knock rfc9421|draft-cavage-http-signatures-12] " +
      "[--key-type rsa2048|rsa4096] [--on-follow accept|reject|ignore] " +
      "[--log-level debug|info|warning|error]\n" +
      "(control API: see the comment at the top of peer.mjs)\n",
  );
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      port: { type: "string" },
      name: { type: "string", default: "alice" },
      "first-knock": { type: "string" },
      "key-type": { type: "string", default: "rsa2048" },
      "on-follow": { type: "string", default: "accept" },
      "log-level": { type: "string", default: "info" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  }).values;
} catch (e) {
  usage(e.message);
}
if (args.help) usage();
if (args.port == null || !/^\d+$/.test(args.port) || Number(args.port) > 65535) {
  usage("--port is required (0-65535)");
}
const PORT = Number(args.port);
const NAME = args.name;
if (!/^[A-Za-z0-9_]+$/.test(NAME)) usage("--name must match [A-Za-z0-9_]+");
const FIRST_KNOCK = args["first-knock"];
if (
  FIRST_KNOCK != null &&
  FIRST_KNOCK !== "rfc9421" &&
  FIRST_KNOCK !== "draft-cavage-http-signatures-12"
) {
  usage("--first-knock must be rfc9421 or draft-cavage-http-signatures-12");
}
const KEY_BITS = { rsa2048: 2048, rsa4096: 4096 }[args["key-type"]];
if (KEY_BITS == null) usage("--key-type must be rsa2048 or rsa4096");
const ON_FOLLOW = args["on-follow"];
if (!["accept", "reject", "ignore"].includes(ON_FOLLOW)) {
  usage("--on-follow must be accept, reject or ignore");
}
const LOG_LEVEL = args["log-level"];
if (!["debug", "info", "warning", "error"].includes(LOG_LEVEL)) {
  usage("--log-level must be debug, info, warning or error");
}

// ---------------------------------------------------------------------------
// Logging: Fedify logs through LogTape; send everything to stderr.

const formatter = getTextFormatter();
await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { stderr: (record) => process.stderr.write(formatter(record)) },
  loggers: [
    { category: "fedify", sinks: ["stderr"], lowestLevel: LOG_LEVEL },
    { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
  ],
});

/** A one-line description of an error, including its cause. */
function errorText(error) {
  if (!(error instanceof Error)) return String(error);
  let text = error.message || String(error);
  const cause = error.cause;
  if (cause != null) {
    const causeText = cause instanceof Error
      ? (cause.code != null ? `${cause.code}: ` : "") + cause.message
      : String(cause);
    if (causeText && !text.includes(causeText)) text += ` (${causeText})`;
  }
  return text;
}

function logError(what, error) {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`[peer ${NAME}] ${what}: ${detail}\n`);
}

process.on("uncaughtException", (e) => logError("uncaught exception", e));
process.on("unhandledRejection", (e) => logError("unhandled rejection", e));

// ---------------------------------------------------------------------------
// Outgoing request log.  Fedify calls the global fetch() for everything it
// sends (deliveries, signed and unsigned GETs), so wrapping it shows which
// HTTP signature spec each request finally went out with (a double knock
// shows up as two entries).

const outgoing = [];
const originalFetch = globalThis.fetch;
globalThis.fetch = async function loggedFetch(input, init) {
  const isRequest = input instanceof Request;
  const headers = isRequest ? input.headers : new Headers(init?.headers);
  const entry = {
    time: new Date().toISOString(),
    method: (isRequest ? input.method : init?.method ?? "GET").toUpperCase(),
    url: isRequest ? input.url : String(input),
    spec: headers.has("signature-input")
      ? "rfc9421"
      : headers.has("signature")
        ? "draft-cavage-http-signatures-12"
        : null,
    signatureInput: headers.get("signature-input"),
    signature: headers.get("signature"),
    digest: headers.get("digest"),
    contentDigest: headers.get("content-digest"),
    date: headers.get("date"),
    status: null,
    error: null,
  };
  outgoing.push(entry);
  try {
    const response = await originalFetch(input, init);
    entry.status = response.status;
    return response;
  } catch (e) {
    entry.error = String(e?.cause ?? e);
    throw e;
  }
};

// ---------------------------------------------------------------------------
// Keys (generated at every start; never persisted)

const rsaKeyPair = await crypto.subtle.generateKey(
  {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: KEY_BITS,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
  true,
  ["sign", "verify"],
);
// Ed25519 is only used for FEP-8b32 Object Integrity Proofs; the first key
// (RSA) is the actor's `publicKey` and signs HTTP requests and LD signatures.
const ed25519KeyPair = await crypto.subtle.generateKey("Ed25519", true, [
  "sign",
  "verify",
]);

// ---------------------------------------------------------------------------
// In-memory state

/** Verified activities received in any inbox, oldest first. */
let received = [];
/** Remote followers of our actor: actor id -> Actor. */
const followers = new Map();
/** Our follows of remote actors: actor id -> { follow, actor, state }. */
const following = new Map();
/** Activities we sent, served back at their ids: id -> Activity. */
const sentActivities = new Map();
/** Our Joins of remote events: event URL -> { join, actor, state }, where
 *  state is pending|accepted|rejected|left|undone. */
const joins = new Map();
/** Notes we created (poll votes, replies), served at their ids: id -> Note. */
const sentNotes = new Map();

// ---------------------------------------------------------------------------
// HTTP server (created first so that --port 0 can be resolved before the
// federation's origin is fixed)

let federation = null;
let ORIGIN = null;
let ACTOR_URL = null;

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    logError(`request ${req.method} ${req.url}`, e);
    try {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
      }
      res.end(JSON.stringify({ ok: false, error: String(e) }));
    } catch (_) {
      res.destroy();
    }
  });
});
server.on("clientError", (_e, socket) => {
  if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
});

try {
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(PORT, "127.0.0.1", resolve);
  });
} catch (e) {
  process.stderr.write(`peer.mjs: cannot listen on 127.0.0.1:${PORT}: ${e.message}\n`);
  process.exit(1);
}
ORIGIN = `http://127.0.0.1:${server.address().port}`;

// ---------------------------------------------------------------------------
// Federation

federation = createFederation({
  kv: new MemoryKvStore(),
  // No queue: sendActivity() delivers before it returns, and inbox
  // activities are processed before the inbox answers.
  origin: ORIGIN,
  // Lets the document loaders, lookupObject() and deliveries reach
  // 127.0.0.1 (Fedify's SSRF guard blocks loopback/private addresses).
  allowPrivateAddress: true,
  // Which HTTP signature spec to try first with an origin not seen before
  // (Fedify's default is "rfc9421"); the other is tried on a 4xx/5xx.
  ...(FIRST_KNOCK == null ? {} : { firstKnock: FIRST_KNOCK }),
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== NAME) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: `Fedify peer ${identifier}`,
      summary: `Test peer <b>${identifier}</b> running Fedify.`,
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      following: ctx.getFollowingUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      manuallyApprovesFollowers: ON_FOLLOW !== "accept",
      discoverable: true,
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .setKeyPairsDispatcher((_ctx, identifier) =>
    identifier === NAME ? [rsaKeyPair, ed25519KeyPair] : []
  );

federation
  .setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
    if (identifier !== NAME) return null;
    return { items: [...followers.values()] };
  })
  .setCounter((_ctx, identifier) => (identifier === NAME ? followers.size : null));

federation
  .setFollowingDispatcher("/users/{identifier}/following", (_ctx, identifier) => {
    if (identifier !== NAME) return null;
    return {
      items: [...following.values()]
        .filter((f) => f.state === "accepted")
        .map((f) => f.actor.id),
    };
  })
  .setCounter((_ctx, identifier) =>
    identifier === NAME
      ? [...following.values()].filter((f) => f.state === "accepted").length
      : null
  );

federation
  .setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier) =>
    identifier === NAME ? { items: [] } : null
  )
  .setCounter((_ctx, identifier) => (identifier === NAME ? 0 : null));

// Activities we send get dereferenceable ids under these paths.
const ACTIVITY_PATHS = [
  [Follow, "/follows/{id}", "follows"],
  [Accept, "/accepts/{id}", "accepts"],
  [Reject, "/rejects/{id}", "rejects"],
  [Undo, "/undos/{id}", "undos"],
  [Join, "/joins/{id}", "joins"],
  [Leave, "/leaves/{id}", "leaves"],
  [Create, "/creates/{id}", "creates"],
];
for (const [cls, path] of ACTIVITY_PATHS) {
  federation.setObjectDispatcher(cls, path, (ctx, values) => {
    const activity = sentActivities.get(ctx.getObjectUri(cls, values).href);
    return activity instanceof cls ? activity : null;
  });
}
// Notes we created (the objects of our Creates).
federation.setObjectDispatcher(Note, "/notes/{id}", (ctx, values) => {
  const note = sentNotes.get(ctx.getObjectUri(Note, values).href);
  return note instanceof Note ? note : null;
});

function newActivityId(ctx, cls) {
  return ctx.getObjectUri(cls, { id: randomUUID() });
}

/** A document loader that signs its GETs as our actor (authorized fetch). */
function signedLoader(ctx) {
  return ctx.getDocumentLoader({ identifier: NAME });
}

async function record(ctx, activity) {
  const data = ctx.data ?? {};
  let raw = data.rawJson;
  if (raw == null || typeof raw !== "object") {
    try {
      raw = await activity.toJsonLd();
    } catch (_) {
      raw = null;
    }
  }
  let object = null;
  if (raw != null && raw.object !== undefined) object = raw.object;
  else if (activity.objectId != null) object = activity.objectId.href;
  received.push({
    type: getTypeId(activity)?.href?.replace(/^.*[#/]/, "") ?? null,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    object,
    raw,
    receivedAt: new Date().toISOString(),
    path: data.path ?? null,
    // Fedify accepts an activity if its LD signature, its Object Integrity
    // Proof or its HTTP signature verifies (in that order).  This is a
    // separate check of the HTTP signature alone.
    httpSignature: data.httpSignature ?? null,
    hasLdSignature: raw != null && typeof raw === "object" && raw.signature != null,
    hasProof: raw != null && typeof raw === "object" && raw.proof != null,
  });
}

/**
 * Whether an incoming Accept/Reject answers a Join rather than a Follow:
 * its object is (the id of) one of our Joins, or an embedded Join.  Returns
 * { isJoin, entry } where entry is the matching `joins` entry, if any.
 */
function joinAnswered(ctx, answer) {
  const objectId = answer.objectId?.href ?? null;
  const rawObject = ctx.data?.rawJson?.object;
  const embedded = rawObject != null && typeof rawObject === "object" &&
      !Array.isArray(rawObject)
    ? rawObject
    : null;
  const embeddedIsJoin = embedded != null &&
    [].concat(embedded.type ?? []).some((t) => t === "Join" || t === "as:Join" ||
      t === "https://www.w3.org/ns/activitystreams#Join");
  let entry = null;
  for (const j of joins.values()) {
    if (objectId != null && objectId === j.join.id.href) {
      entry = j;
      break;
    }
  }
  if (entry == null && embeddedIsJoin && objectId == null) {
    // An embedded Join without an id: match on its object (the event).
    const event = typeof embedded.object === "string"
      ? embedded.object
      : embedded.object?.id;
    if (typeof event === "string") entry = joins.get(event) ?? null;
  }
  return { isJoin: entry != null || embeddedIsJoin, entry };
}

async function answerFollow(ctx, follow) {
  if (follow.id == null || follow.actorId == null || follow.objectId == null) return;
  const parsed = ctx.parseUri(follow.objectId);
  if (parsed?.type !== "actor" || parsed.identifier !== NAME) return;
  const loader = await signedLoader(ctx);
  const follower = await follow.getActor({
    documentLoader: loader,
    contextLoader: ctx.contextLoader,
  });
  if (!isActor(follower) || follower.id == null) {
    logError("follow", `could not fetch follower ${follow.actorId.href}`);
    return;
  }
  const cls = ON_FOLLOW === "reject" ? Reject : Accept;
  if (ON_FOLLOW === "accept") followers.set(follower.id.href, follower);
  const answer = new cls({
    id: newActivityId(ctx, cls),
    actor: ctx.getActorUri(NAME),
    // Embed a plain copy of the Follow (ids only), as Mastodon does.
    object: new Follow({
      id: follow.id,
      actor: follow.actorId,
      object: follow.objectId,
    }),
    to: follower.id,
  });
  sentActivities.set(answer.id.href, answer);
  await ctx.sendActivity({ identifier: NAME }, follower, answer);
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .setSharedKeyDispatcher(() => ({ identifier: NAME }))
  .on(Follow, async (ctx, follow) => {
    await record(ctx, follow);
    if (ON_FOLLOW === "ignore") return;
    // Answer after the inbox has responded to the Follow's delivery, the way
    // a server with a delivery queue would.
    setTimeout(() => {
      answerFollow(ctx, follow).catch((e) => logError("answering follow", e));
    }, 0);
  })
  .on(Accept, async (ctx, accept) => {
    await record(ctx, accept);
    const { isJoin, entry } = joinAnswered(ctx, accept);
    if (isJoin) {
      if (entry != null && entry.state === "pending") entry.state = "accepted";
      return;
    }
    for (const f of following.values()) {
      if (accept.objectId?.href === f.follow.id.href ||
          (accept.actorId?.href === f.actor.id.href && f.state === "pending")) {
        f.state = "accepted";
      }
    }
  })
  .on(Reject, async (ctx, reject) => {
    await record(ctx, reject);
    const { isJoin, entry } = joinAnswered(ctx, reject);
    if (isJoin) {
      if (entry != null) entry.state = "rejected";
      return;
    }
    for (const f of following.values()) {
      if (reject.objectId?.href === f.follow.id.href ||
          reject.actorId?.href === f.actor.id.href) {
        f.state = "rejected";
      }
    }
  })
  .on(Undo, async (ctx, undo) => {
    await record(ctx, undo);
    const inner = await undo.getObject({
      documentLoader: await signedLoader(ctx),
      contextLoader: ctx.contextLoader,
    }).catch(() => null);
    if (inner instanceof Follow && undo.actorId != null) {
      followers.delete(undo.actorId.href);
    }
  })
  .on(Delete, async (ctx, del) => {
    await record(ctx, del);
    if (del.actorId != null && del.objectId?.href === del.actorId.href) {
      followers.delete(del.actorId.href);
    }
  })
  .on(Create, record)
  .on(Update, record)
  .on(Announce, record)
  .on(Like, record)
  .on(Activity, record)
  .onError((_ctx, error) => logError("inbox", error));

ACTOR_URL = federation.createContext(new URL(ORIGIN)).getActorUri(NAME).href;

// ---------------------------------------------------------------------------
// Request handling

const CONTROL_PREFIX = "/control/";

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function sendJson(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

function toRequest(req, url, body) {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    try {
      headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    } catch (_) {
      // skip header names/values undici refuses
    }
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(url, {
    method: req.method,
    headers,
    body: hasBody ? body : undefined,
    duplex: "half",
  });
}

async function writeResponse(res, response) {
  const headers = {};
  for (const [k, v] of response.headers) {
    if (k === "set-cookie") continue;
    headers[k] = v;
  }
  const body = Buffer.from(await response.arrayBuffer());
  headers["content-length"] = body.length;
  res.writeHead(response.status, response.statusText || undefined, headers);
  res.end(body);
}

/** Keys fetched by our own HTTP signature check (never caches failures). */
const keyCache = new Map();
const httpSigKeyCache = {
  get: async (keyId) => keyCache.get(keyId.href),
  set: async (keyId, key) => {
    if (key != null) keyCache.set(keyId.href, key);
  },
};

async function checkHttpSignature(request) {
  const spec = request.headers.has("signature-input")
    ? "rfc9421"
    : request.headers.has("signature")
      ? "draft-cavage-http-signatures-12"
      : null;
  if (spec == null) return { spec: null, verified: false, reason: "noSignature" };
  try {
    const ctx = federation.createContext(new URL(ORIGIN));
    const result = await verifyRequestDetailed(request.clone(), {
      documentLoader: await signedLoader(ctx),
      contextLoader: ctx.contextLoader,
      keyCache: httpSigKeyCache,
      timeWindow: { hours: 1 },
    });
    if (result.verified) {
      return { spec, verified: true, keyId: result.key.id?.href ?? null };
    }
    return {
      spec,
      verified: false,
      reason: result.reason.type,
      keyId: result.reason.keyId?.href ?? null,
    };
  } catch (e) {
    return { spec, verified: false, reason: `error: ${e}` };
  }
}

async function handle(req, res) {
  const url = new URL(req.url ?? "/", ORIGIN);
  const body = await readBody(req);

  if (url.pathname.startsWith(CONTROL_PREFIX)) {
    await handleControl(req.method, url.pathname.slice(CONTROL_PREFIX.length), body, res);
    return;
  }

  const request = toRequest(req, url, body);
  const contextData = { path: url.pathname };
  if (req.method === "POST") {
    try {
      contextData.rawJson = JSON.parse(body.toString("utf8"));
    } catch (_) {
      contextData.rawJson = null;
    }
    if (url.pathname === "/inbox" || /^\/users\/[^/]+\/inbox$/.test(url.pathname)) {
      contextData.httpSignature = await checkHttpSignature(request);
    }
  }
  const response = await federation.fetch(request, { contextData });
  await writeResponse(res, response);
}

// ---------------------------------------------------------------------------
// Control API

function parseJsonBody(body) {
  if (body.length === 0) return {};
  const value = JSON.parse(body.toString("utf8"));
  if (value == null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError("expected a JSON object");
  }
  return value;
}

function requireUrl(value, field) {
  if (typeof value !== "string") throw new TypeError(`"${field}" must be a string URL`);
  const u = new URL(value);
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TypeError(`"${field}" must be an http(s) URL`);
  }
  return u;
}

function str(value) {
  return value == null ? null : value.toString();
}

function linkHref(value) {
  if (value == null) return null;
  if (value instanceof URL) return value.href;
  if (value.href instanceof URL) return value.href.href;
  if (value.id instanceof URL) return value.id.href;
  return null;
}

function requireString(value, field) {
  if (typeof value !== "string") throw new TypeError(`"${field}" must be a string`);
  return value;
}

/** Looks up a URL as our actor (signed GET); returns the object or throws. */
async function lookup(ctx, url) {
  const documentLoader = await signedLoader(ctx);
  const object = await ctx.lookupObject(url.href, { documentLoader });
  if (object != null && object.id != null) return { object, documentLoader };
  if (object != null) throw new Error(`${url.href} is not an ActivityPub object (no id)`);
  // lookupObject() swallows the reason; fetch again to report it.
  let error;
  try {
    const doc = await documentLoader(url.href);
    const id = doc?.document?.id;
    error = new Error(
      `fetched ${url.href} but Fedify could not use it as an object` +
        (id != null ? ` (id ${JSON.stringify(id)})` : ""),
    );
  } catch (e) {
    error = new Error(`${url.href}: ${errorText(e)}`);
  }
  throw error;
}

/** Looks up `value` (a URL string) and requires an actor with an id. */
async function lookupActor(ctx, value, field) {
  const url = requireUrl(value, field);
  const { object } = await lookup(ctx, url);
  if (!isActor(object) || object.id == null) {
    throw new Error(`${url.href} is not an actor`);
  }
  return object;
}

async function describe(object, documentLoader, ctx) {
  const opts = { documentLoader, contextLoader: ctx.contextLoader };
  const result = {
    ok: true,
    type: getTypeId(object)?.href?.replace(/^.*[#/]/, "") ?? null,
    id: object.id?.href ?? null,
    preferredUsername: str(object.preferredUsername),
    name: str(object.name),
    summary: str(object.summary),
    inbox: object.inboxId?.href ?? null,
    sharedInbox: null,
    outbox: object.outboxId?.href ?? null,
    followers: object.followersId?.href ?? null,
    following: object.followingId?.href ?? null,
    icon: null,
    url: linkHref(object.url),
    publicKeyId: object.publicKeyId?.href ?? null,
    manuallyApprovesFollowers: object.manuallyApprovesFollowers ?? null,
    discoverable: object.discoverable ?? null,
    attachment: [],
    json: null,
  };
  try {
    result.sharedInbox = object.endpoints?.sharedInbox?.href ?? null;
  } catch (_) { /* not an actor */ }
  try {
    const icon = await object.getIcon?.(opts);
    if (icon != null) result.icon = linkHref(icon.url) ?? icon.id?.href ?? null;
  } catch (e) {
    result.iconError = String(e);
  }
  try {
    for await (const a of object.getAttachments(opts)) {
      result.attachment.push({
        type: getTypeId(a)?.href?.replace(/^.*[#/]/, "") ?? null,
        name: str(a.name),
        value: a.value !== undefined ? str(a.value) : null,
      });
    }
  } catch (e) {
    result.attachmentError = String(e);
  }
  try {
    result.json = await object.toJsonLd({ contextLoader: ctx.contextLoader });
  } catch (_) { /* informative only */ }
  return result;
}

async function handleControl(method, route, body, res) {
  const ctx = federation.createContext(new URL(ORIGIN));
  let input;
  if (method === "POST") {
    try {
      input = parseJsonBody(body);
    } catch (e) {
      sendJson(res, 400, { ok: false, error: `bad JSON body: ${e.message}` });
      return;
    }
  }
  const key = `${method} ${route}`;
  try {
    switch (key) {
      case "GET health":
        sendJson(res, 200, { ok: true, actor: ACTOR_URL, name: NAME, origin: ORIGIN });
        return;

      case "GET inbox":
        sendJson(res, 200, { activities: received });
        return;

      case "GET outgoing":
        sendJson(res, 200, { requests: outgoing });
        return;

      case "GET state":
        sendJson(res, 200, {
          actor: ACTOR_URL,
          followers: [...followers.keys()],
          following: [...following.values()].map((f) => ({
            actor: f.actor.id.href,
            follow: f.follow.id.href,
            state: f.state,
          })),
          joins: [...joins.entries()].map(([event, j]) => ({
            event,
            actor: j.actor.id.href,
            join: j.join.id.href,
            state: j.state,
          })),
        });
        return;

      case "POST reset":
        received = [];
        outgoing.length = 0;
        sendJson(res, 200, { ok: true });
        return;

      case "POST lookup": {
        let url;
        try {
          url = requireUrl(input.url, "url");
          const { object, documentLoader } = await lookup(ctx, url);
          sendJson(res, 200, await describe(object, documentLoader, ctx));
        } catch (e) {
          sendJson(res, 200, { ok: false, error: errorText(e) });
        }
        return;
      }

      case "POST follow": {
        try {
          const url = requireUrl(input.actor, "actor");
          const { object: actor } = await lookup(ctx, url);
          if (!isActor(actor) || actor.id == null) {
            throw new Error(`${url.href} is not an actor`);
          }
          const follow = new Follow({
            id: newActivityId(ctx, Follow),
            actor: ctx.getActorUri(NAME),
            object: actor.id,
            to: actor.id,
          });
          sentActivities.set(follow.id.href, follow);
          following.set(actor.id.href, { follow, actor, state: "pending" });
          try {
            await ctx.sendActivity({ identifier: NAME }, actor, follow);
          } catch (e) {
            following.delete(actor.id.href);
            throw e;
          }
          sendJson(res, 200, { ok: true, id: follow.id.href });
        } catch (e) {
          logError("follow", errorText(e));
          sendJson(res, 200, { ok: false, error: errorText(e) });
        }
        return;
      }

      case "POST unfollow": {
        try {
          const url = requireUrl(input.actor, "actor");
          let entry = following.get(url.href);
          if (entry == null) {
            // Maybe the caller used a URL that redirects to / differs from
            // the actor id: resolve it.
            const { object } = await lookup(ctx, url);
            if (object?.id != null) entry = following.get(object.id.href);
          }
          if (entry == null) throw new Error(`not following ${url.href}`);
          const undo = new Undo({
            id: newActivityId(ctx, Undo),
            actor: ctx.getActorUri(NAME),
            object: entry.follow,
            to: entry.actor.id,
          });
          sentActivities.set(undo.id.href, undo);
          await ctx.sendActivity({ identifier: NAME }, entry.actor, undo);
          following.delete(entry.actor.id.href);
          sendJson(res, 200, { ok: true, id: undo.id.href });
        } catch (e) {
          logError("unfollow", errorText(e));
          sendJson(res, 200, { ok: false, error: errorText(e) });
        }
        return;
      }

      case "POST join": {
        try {
          const event = requireUrl(input.object, "object");
          const organizer = await lookupActor(ctx, input.to, "to");
          const join = new Join({
            id: newActivityId(ctx, Join),
            actor: ctx.getActorUri(NAME),
            object: event,
            to: organizer.id,
          });
          sentActivities.set(join.id.href, join);
          // Registered before sending: the Accept may arrive during delivery.
          const previous = joins.get(event.href);
          joins.set(event.href, { join, actor: organizer, state: "pending" });
          try {
            await ctx.sendActivity({ identifier: NAME }, organizer, join);
          } catch (e) {
            if (previous != null) joins.set(event.href, previous);
            else joins.delete(event.href);
            throw e;
          }
          sendJson(res, 200, { ok: true, id: join.id.href });
        } catch (e) {
          logError("join", errorText(e));
          sendJson(res, 200, { ok: false, error: errorText(e) });
        }
        return;
      }

      case "POST leave": {
        try {
          const event = requireUrl(input.object, "object");
          const organizer = await lookupActor(ctx, input.to, "to");
          const leave = new Leave({
            id: newActivityId(ctx, Leave),
            actor: ctx.getActorUri(NAME),
            object: event,
            to: organizer.id,
          });
          sentActivities.set(leave.id.href, leave);
          await ctx.sendActivity({ identifier: NAME }, organizer, leave);
          const entry = joins.get(event.href);
          if (entry != null) entry.state = "left";
          sendJson(res, 200, { ok: true, id: leave.id.href });
        } catch (e) {
          logError("leave", errorText(e));
          sendJson(res, 200, { ok: false, error: errorText(e) });
        }
        return;
      }

      case "POST undo-join": {
        try {
          const event = requireUrl(input.object, "object");
          const entry = joins.get(event.href);
          if (entry == null) throw new Error(`no Join was sent for ${event.href}`);
          const recipient = input.to == null
            ? entry.actor
            : await lookupActor(ctx, input.to, "to");
          const undo = new Undo({
            id: newActivityId(ctx, Undo),
            actor: ctx.getActorUri(NAME),
            object: entry.join,
            to: recipient.id,
          });
          sentActivities.set(undo.id.href, undo);
          await ctx.sendActivity({ identifier: NAME }, recipient, undo);
          entry.state = "undone";
          sendJson(res, 200, { ok: true, id: undo.id.href });
        } catch (e) {
          logError("undo-join", errorText(e));
          sendJson(res, 200, { ok: false, error: errorText(e) });
        }
        return;
      }

      case "POST vote": {
        // A poll vote exactly as Mastodon sends it: a Create of a Note with
        // the option as `name`, `inReplyTo` the Question, no content,
        // addressed only to the poll's author.
        try {
          const question = requireUrl(input.question, "question");
          const option = requireString(input.name, "name");
          const recipient = await lookupActor(ctx, input.to, "to");
          const me = ctx.getActorUri(NAME);
          const note = new Note({
            id: newActivityId(ctx, Note),
            attribution: me,
            name: option,
            replyTarget: question,
            tos: [recipient.id],
          });
          const create = new Create({
            id: newActivityId(ctx, Create),
            actor: me,
            tos: [recipient.id],
            object: note,
          });
          sentNotes.set(note.id.href, note);
          sentActivities.set(create.id.href, create);
          await ctx.sendActivity({ identifier: NAME }, recipient, create);
          sendJson(res, 200, { ok: true, id: create.id.href, note: note.id.href });
        } catch (e) {
          logError("vote", errorText(e));
          sendJson(res, 200, { ok: false, error: errorText(e) });
        }
        return;
      }

      case "POST reply": {
        try {
          const target = requireUrl(input.inReplyTo, "inReplyTo");
          const content = requireString(input.content, "content");
          const recipient = await lookupActor(ctx, input.to, "to");
          const me = ctx.getActorUri(NAME);
          const published = Temporal.Now.instant();
          const note = new Note({
            id: newActivityId(ctx, Note),
            attribution: me,
            content,
            replyTarget: target,
            to: PUBLIC_COLLECTION,
            ccs: [recipient.id],
            published,
          });
          const create = new Create({
            id: newActivityId(ctx, Create),
            actor: me,
            to: PUBLIC_COLLECTION,
            cc: recipient.id,
            object: note,
            published,
          });
          sentNotes.set(note.id.href, note);
          sentActivities.set(create.id.href, create);
          await ctx.sendActivity({ identifier: NAME }, recipient, create);
          sendJson(res, 200, { ok: true, id: create.id.href, note: note.id.href });
        } catch (e) {
          logError("reply", errorText(e));
          sendJson(res, 200, { ok: false, error: errorText(e) });
        }
        return;
      }

      case "POST dm": {
        // A direct message as Mastodon sends one ("mentioned people only"):
        // a Note addressed to the recipient alone, with a Mention tag, in
        // reply to `inReplyTo` when given.
        try {
          const content = requireString(input.content, "content");
          const recipient = await lookupActor(ctx, input.to, "to");
          const me = ctx.getActorUri(NAME);
          const published = Temporal.Now.instant();
          const note = new Note({
            id: newActivityId(ctx, Note),
            attribution: me,
            content,
            replyTarget: input.inReplyTo ? requireUrl(input.inReplyTo, "inReplyTo") : null,
            tos: [recipient.id],
            tags: [new Mention({ href: recipient.id })],
            published,
          });
          const create = new Create({
            id: newActivityId(ctx, Create),
            actor: me,
            tos: [recipient.id],
            object: note,
            published,
          });
          sentNotes.set(note.id.href, note);
          sentActivities.set(create.id.href, create);
          await ctx.sendActivity({ identifier: NAME }, recipient, create);
          sendJson(res, 200, { ok: true, id: create.id.href, note: note.id.href });
        } catch (e) {
          logError("dm", errorText(e));
          sendJson(res, 200, { ok: false, error: errorText(e) });
        }
        return;
      }

      case "POST fetch": {
        try {
          const url = requireUrl(input.url, "url");
          const loader = await signedLoader(ctx);
          const remote = await loader(url.href);
          sendJson(res, 200, {
            ok: true,
            document: remote.document,
            documentUrl: remote.documentUrl ?? null,
          });
        } catch (e) {
          sendJson(res, 200, { ok: false, error: errorText(e) });
        }
        return;
      }

      default:
        sendJson(res, 404, { ok: false, error: `no control route ${key}` });
    }
  } catch (e) {
    logError(`control ${key}`, e);
    sendJson(res, 500, { ok: false, error: errorText(e) });
  }
}

// ---------------------------------------------------------------------------

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

process.stdout.write(`READY ${ACTOR_URL}\n`);
