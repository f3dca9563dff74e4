#!/usr/bin/env python3
# Independent ActivityPub test peer built on bovine (Python), used by
# Intercoop's federation tests.  It is *not* part of Intercoop: it is a
# second, unrelated implementation that our server has to interoperate with,
# next to the Fedify peer (../fedify/peer.mjs), whose control API it mirrors.
#
#   python peer.py --port P [--name carol]
#                  [--on-follow accept|reject|ignore]
#                  [--log-level debug|info|warning|error]
#
# Serves plain http on 127.0.0.1:P (origin http://127.0.0.1:P; --port 0 picks
# a free port) with one Person actor at /users/{name}, and a JSON control API
# under /control/.  Prints `READY <actor url>` on stdout once listening;
# everything else goes to stderr.  All state is in memory.
#
# bovine does the ActivityPub work: draft-cavage HTTP signatures on every
# outgoing request (bovine.clients.signed_http.SignedHttpClient), their
# verification on incoming inbox POSTs (bovine.crypto SignatureChecker,
# including its Digest and Date checks), the actor document
# (bovine.activitystreams.Actor) and the activities (ActivityFactory).  This
# file adds only the HTTP routes, the key lookup and the bookkeeping.
#
# Installed by ../../setup-peers.sh into federation-tests/.venv.

import argparse
import asyncio
import json
import logging
import re
import signal
import socket
import sys
import uuid
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit, urlunsplit

import aiohttp
from aiohttp import web

import bovine.utils
from bovine.activitystreams import Actor
from bovine.activitystreams.activity_factory import ActivityFactory
from bovine.activitystreams.utils import id_for_object
from bovine.clients.signed_http import SignedHttpClient
from bovine.crypto import generate_rsa_public_private_key
from bovine.crypto.digest import validate_digest
from bovine.crypto.signature import Signature
from bovine.crypto.signature_checker import SignatureChecker
from bovine.crypto.types import CryptographicIdentifier
from bovine.types import Visibility

log = logging.getLogger("peer")

AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTIVITY_JSON = "application/activity+json"

# ---------------------------------------------------------------------------
# Command line


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="peer.py",
        description="Independent ActivityPub test peer built on bovine",
    )
    parser.add_argument("--port", required=True, help="TCP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--name", default="carol", help="the actor's name, [A-Za-z0-9_]+")
    parser.add_argument("--on-follow", default="accept", choices=["accept", "reject", "ignore"])
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    if not re.fullmatch(r"\d+", args.port) or int(args.port) > 65535:
        parser.error("--port is required (0-65535)")
    args.port = int(args.port)
    if not re.fullmatch(r"[A-Za-z0-9_]+", args.name):
        parser.error("--name must match [A-Za-z0-9_]+")
    return args


def now_iso():
    return datetime.now(tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error_text(e):
    text = str(e) or type(e).__name__
    if isinstance(e, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        text = f"{type(e).__name__}: {text}" if str(e) else type(e).__name__
    return text


def strip_fragment(url):
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def first(value):
    """The first element of a JSON-LD value that may be a list."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def type_name(obj):
    t = first(obj.get("type")) if isinstance(obj, dict) else None
    return t if isinstance(t, str) else None


class FetchError(Exception):
    pass


# ---------------------------------------------------------------------------
# The peer


class Peer:
    def __init__(self, name, origin, on_follow):
        self.name = name
        self.origin = origin
        self.on_follow = on_follow
        self.actor_id = f"{origin}/users/{name}"
        self.key_id = f"{self.actor_id}#main-key"

        # RSA-2048, generated at every start, never persisted.
        self.public_key_pem, self.private_key_pem = generate_rsa_public_private_key()

        actor = Actor(
            id=self.actor_id,
            type="Person",
            name=f"bovine peer {name}",
            preferred_username=name,
            summary=f"Test peer <b>{name}</b> running bovine (Python).",
            url=self.actor_id,
            inbox=f"{self.actor_id}/inbox",
            outbox=f"{self.actor_id}/outbox",
            followers=f"{self.actor_id}/followers",
            following=f"{self.actor_id}/following",
            public_key=self.public_key_pem,
            public_key_name="main-key",
        )
        doc = actor.build(visibility=Visibility.OWNER)
        doc["@context"] = as_list(doc["@context"]) + [
            {
                "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
                "discoverable": "http://joinmastodon.org/ns#discoverable",
            }
        ]
        doc["endpoints"] = {"sharedInbox": f"{origin}/inbox"}
        doc["manuallyApprovesFollowers"] = on_follow != "accept"
        doc["discoverable"] = True
        self.actor_doc = doc

        self.factory = ActivityFactory(
            {"id": self.actor_id, "followers": doc["followers"]},
            id_generator=lambda: f"{origin}/activities/{uuid.uuid4()}",
        )

        self.session = None
        self.client = None

        self.received = []  # inbox records, oldest first
        self.outgoing = []  # every outgoing HTTP request, as sent
        self.deliveries = []  # activities we POSTed and the answers
        self.followers = {}  # follower actor id -> follower actor document
        self.following = {}  # followed actor id -> {follow, actor, state}
        self.sent = {}  # activity id -> activity (served back at its id)
        self.key_cache = {}  # keyId -> CryptographicIdentifier

    # -- HTTP client (bovine signs every request) ---------------------------

    async def start_client(self):
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(self._trace_start)
        trace.on_request_end.append(self._trace_end)
        trace.on_request_exception.append(self._trace_exception)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver()),
            timeout=aiohttp.ClientTimeout(total=20),
            trace_configs=[trace],
        )
        self.client = SignedHttpClient(self.session, self.key_id, self.private_key_pem)

    async def close(self):
        if self.session is not None:
            await self.session.close()

    async def _trace_start(self, _session, ctx, params):
        headers = params.headers
        entry = {
            "time": now_iso(),
            "method": params.method,
            "url": str(params.url),
            "spec": "draft-cavage-http-signatures-12" if "signature" in headers else None,
            "signature": headers.get("signature"),
            "digest": headers.get("digest"),
            "date": headers.get("date"),
            "host": headers.get("host"),
            "contentType": headers.get("content-type"),
            "status": None,
            "error": None,
        }
        self.outgoing.append(entry)
        ctx.entry = entry

    async def _trace_end(self, _session, ctx, params):
        entry = getattr(ctx, "entry", None)
        if entry is not None:
            entry["status"] = params.response.status

    async def _trace_exception(self, _session, ctx, params):
        entry = getattr(ctx, "entry", None)
        if entry is not None:
            entry["error"] = error_text(params.exception)

    async def signed_fetch(self, url, max_redirects=3):
        """A signed GET of url as our actor (works against authorized fetch);
        returns the JSON object or raises FetchError."""
        for _ in range(max_redirects + 1):
            try:
                response = await self.client.get(strip_fragment(url))
            except Exception as e:
                raise FetchError(f"GET {url}: {error_text(e)}") from e
            async with response:
                if response.status in (301, 302, 303, 307, 308) and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                try:
                    text = await response.text(errors="replace")
                except Exception as e:
                    raise FetchError(f"GET {url}: {error_text(e)}") from e
                if response.status != 200:
                    raise FetchError(f"GET {url}: HTTP {response.status}: {text[:300]}")
                try:
                    data = json.loads(text)
                except ValueError:
                    raise FetchError(f"GET {url}: not JSON ({response.headers.get('content-type')})")
                if not isinstance(data, dict):
                    raise FetchError(f"GET {url}: not a JSON object")
                return data
        raise FetchError(f"GET {url}: too many redirects")

    async def fetch_actor(self, url):
        actor = await self.signed_fetch(url)
        if not isinstance(actor.get("id"), str):
            raise FetchError(f"{url} has no id")
        if not isinstance(id_for_object(first(actor.get("inbox"))), str):
            raise FetchError(f"{url} ({type_name(actor)}) has no inbox: not an actor")
        return actor

    async def deliver(self, inbox, activity):
        """Signed POST of activity to inbox; returns (status, body text)."""
        body = json.dumps(activity)
        entry = {"time": now_iso(), "inbox": inbox, "type": activity.get("type"),
                 "id": activity.get("id"), "status": None, "error": None}
        self.deliveries.append(entry)
        try:
            response = await self.client.post(inbox, body)
            async with response:
                text = await response.text(errors="replace")
                entry["status"] = response.status
        except Exception as e:
            entry["error"] = error_text(e)
            raise FetchError(f"POST {inbox}: {error_text(e)}") from e
        if not 200 <= response.status < 300:
            log.warning("POST %s (%s) answered %d: %s", inbox, activity.get("type"),
                        response.status, text[:300])
        return response.status, text

    # -- keys ----------------------------------------------------------------

    async def identifier_for(self, key_id, diag):
        """bovine's key_retriever: keyId -> CryptographicIdentifier (fetched
        with a signed GET, cached), or None with the reason in diag."""
        cached = self.key_cache.get(key_id)
        if cached is not None:
            diag["keyFromCache"] = True
            return cached
        try:
            doc = await self.signed_fetch(key_id)
            identifier = await self.identifier_from_document(doc, key_id)
        except Exception as e:
            diag["keyError"] = error_text(e)
            log.warning("key %s: %s", key_id, error_text(e))
            return None
        self.key_cache[key_id] = identifier
        return identifier

    async def identifier_from_document(self, doc, key_id):
        doc_id = doc.get("id")
        # An actor document carrying the key in publicKey (or a Multikey in
        # assertionMethod) ...
        keys = [k for k in as_list(doc.get("publicKey")) if isinstance(k, dict)]
        match = [k for k in keys if k.get("id") == key_id]
        if not match and len(keys) == 1 and strip_fragment(key_id) == doc_id:
            match = keys
        if match:
            key = dict(match[0])
            owner = key.get("owner") or doc_id
            if owner != doc_id:
                raise ValueError(f"key {key_id} is owned by {owner}, not by {doc_id} that serves it")
            key["owner"] = owner
            return CryptographicIdentifier.from_public_key(key)
        for method in as_list(doc.get("assertionMethod")):
            if isinstance(method, dict) and method.get("id") == key_id:
                return CryptographicIdentifier.from_multikey(method)
        # ... or a standalone key document, whose owner must list it.
        if doc.get("publicKeyPem") is not None and isinstance(doc.get("owner"), str):
            owner = await self.signed_fetch(doc["owner"])
            listed = [k.get("id") if isinstance(k, dict) else k for k in as_list(owner.get("publicKey"))]
            if key_id not in listed and doc_id not in listed:
                raise ValueError(f"owner {doc['owner']} does not list key {key_id}")
            return CryptographicIdentifier.from_public_key(doc)
        raise ValueError(f"no public key {key_id} in the document at {strip_fragment(key_id)}")

    # -- verification ----------------------------------------------------------

    async def verify(self, request, raw):
        """Checks the request's HTTP signature with bovine.  Returns a dict
        {verified, reason, spec, keyId, signer, signedHeaders}."""
        headers = request.headers
        result = {"verified": False, "reason": None, "spec": None, "keyId": None,
                  "signer": None, "signedHeaders": None}
        if "signature" not in headers:
            result["reason"] = "noSignature"
            return result
        result["spec"] = "rfc9421" if "signature-input" in headers else "draft-cavage-http-signatures-12"

        async def body():
            return raw

        signer = None
        diag = {}
        for attempt in range(2):
            diag = {}
            checker = SignatureChecker(lambda key_id, d=diag: self.identifier_for(key_id, d))
            try:
                signer = await checker.validate_signature(request.method, request.raw_path, headers, body)
            except Exception as e:
                diag["exception"] = error_text(e)
                signer = None
            if signer is not None or not diag.get("keyFromCache"):
                break
            # The cached key did not verify: the key may have been rotated.
            key_id = self._key_id_of(headers)
            if key_id is not None:
                self.key_cache.pop(key_id, None)

        try:
            parsed = Signature.from_signature_header(headers["signature"])
            result["keyId"] = parsed.key_id
            result["signedHeaders"] = parsed.headers
        except Exception:
            parsed = None

        if signer is not None:
            result["verified"] = True
            result["signer"] = signer
            return result
        result["reason"] = self._failure_reason(request, raw, parsed, diag)
        return result

    @staticmethod
    def _key_id_of(headers):
        try:
            if "signature-input" in headers:
                m = re.search(r'keyid="([^"]*)"', headers["signature-input"])
                return m.group(1) if m else None
            return Signature.from_signature_header(headers["signature"]).key_id
        except Exception:
            return None

    @staticmethod
    def _failure_reason(request, raw, parsed, diag):
        """Explains why bovine refused the signature (bovine itself only says
        yes or no); the checks mirror bovine's SignatureChecker, in order."""
        headers = request.headers
        is_post = request.method.upper() == "POST"
        if is_post:
            if "digest" not in headers and "content-digest" not in headers:
                return "missingDigest"
            if not validate_digest(headers, raw):
                return "digestMismatch"
        if "signature-input" in headers:
            if diag.get("keyError"):
                return f"keyFetchFailed: {diag['keyError']}"
            return "invalidSignature (rfc9421, bovine's support is partial)"
        if parsed is None:
            return "malformedSignature (needs keyId, headers, signature; algorithm rsa-sha256 or hs2019)"
        fields = parsed.fields
        missing = [f for f in ("(request-target)", "date") if f not in fields]
        if missing:
            return f"requiredHeaderNotSigned: {' '.join(missing)}"
        if is_post and "digest" not in fields and "content-digest" not in fields:
            return "digestNotSigned"
        try:
            date = bovine.utils.parse_gmt(headers["date"])
        except Exception:
            return f"badDate: {headers.get('date')!r}"
        if not bovine.utils.check_max_offset_now(date):
            return f"dateOutOfWindow (5 minutes): {headers['date']}"
        if diag.get("keyError"):
            return f"keyFetchFailed: {diag['keyError']}"
        absent = [f for f in fields if not f.startswith("(") and f not in headers]
        if absent:
            return f"signedHeaderMissing: {' '.join(absent)}"
        if diag.get("exception"):
            return f"error: {diag['exception']}"
        return "invalidSignature"

    # -- inbox -----------------------------------------------------------------

    async def handle_inbox(self, request):
        name = request.match_info.get("name")
        if name is not None and name != self.name:
            return json_response({"error": f"no actor {name}"}, 404)
        raw = await request.read()
        check = await self.verify(request, raw)
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        activity = data if isinstance(data, dict) else {}
        actor = id_for_object(first(activity.get("actor"))) if activity else None
        if check["verified"] and actor is not None and check["signer"] != actor:
            check["verified"] = False
            check["reason"] = f"actorMismatch: signed by {check['signer']}, actor is {actor}"
        record = {
            "type": type_name(activity),
            "id": activity.get("id"),
            "actor": actor,
            "object": activity.get("object"),
            "verified": check["verified"],
            "reason": check["reason"],
            "spec": check["spec"],
            "keyId": check["keyId"],
            "signer": check["signer"],
            "signedHeaders": check["signedHeaders"],
            "path": request.path,
            "receivedAt": now_iso(),
            "raw": data,
        }
        self.received.append(record)
        if not check["verified"]:
            log.info("inbox %s: %s %s refused: %s", request.path, record["type"], record["id"], check["reason"])
            return json_response({"error": "signature not verified", "reason": check["reason"]}, 401)
        if not activity:
            return json_response({"error": "body is not a JSON object"}, 400)
        log.info("inbox %s: verified %s %s from %s", request.path, record["type"], record["id"], actor)

        after = self.process(activity, actor)
        response = web.Response(status=202)
        if after is not None:
            # Answer after the inbox has responded to the delivery, the way a
            # server with a delivery queue would.
            await response.prepare(request)
            await response.write_eof()
            spawn(after, "answering follow")
        return response

    def process(self, activity, actor):
        """Side effects of a verified activity; may return a coroutine to run
        after the response."""
        kind = type_name(activity)
        obj = first(activity.get("object"))
        obj_id = id_for_object(obj)
        if kind == "Follow":
            if obj_id == self.actor_id and self.on_follow != "ignore":
                return self.answer_follow(activity, actor)
        elif kind in ("Accept", "Reject"):
            for entry in self.following.values():
                follow = entry["follow"]
                if obj_id == follow["id"] or (
                    actor == entry["actor"]["id"] and entry["state"] == "pending"
                ):
                    entry["state"] = "accepted" if kind == "Accept" else "rejected"
        elif kind == "Undo":
            # Undo(Follow), the Follow embedded or given by its id.
            if type_name(obj) == "Follow" or (
                isinstance(obj, str)
                and any(r["type"] == "Follow" and r["id"] == obj for r in self.received)
            ):
                self.followers.pop(actor, None)
        elif kind == "Delete":
            if obj_id == actor:
                self.followers.pop(actor, None)
        return None

    async def answer_follow(self, follow, follower_id):
        follower = await self.fetch_actor(follower_id)
        # Embed a plain copy of the Follow (ids only), as Mastodon does.
        embedded = {"type": "Follow", "actor": follower_id, "object": self.actor_id}
        if follow.get("id") is not None:
            embedded = {"id": follow["id"], **embedded}
        if self.on_follow == "accept":
            self.followers[follower["id"]] = follower
            answer = self.factory.accept(embedded, include_activity=True).build()
        else:
            answer = self.factory.reject(embedded, include_activity=True).build()
        self.sent[answer["id"]] = answer
        inbox = id_for_object(first(follower.get("inbox")))
        status, _ = await self.deliver(inbox, answer)
        log.info("sent %s %s to %s: HTTP %d", answer["type"], answer["id"], inbox, status)

    # -- control API -----------------------------------------------------------

    def describe(self, obj):
        keys = [k for k in as_list(obj.get("publicKey")) if isinstance(k, dict)]
        key = keys[0] if keys else {}
        endpoints = obj.get("endpoints") if isinstance(obj.get("endpoints"), dict) else {}

        def ref(name):
            return id_for_object(first(obj.get(name)))

        return {
            "ok": True,
            "type": type_name(obj),
            "id": obj.get("id"),
            "preferredUsername": obj.get("preferredUsername"),
            "name": obj.get("name"),
            "summary": obj.get("summary"),
            "inbox": ref("inbox"),
            "sharedInbox": id_for_object(endpoints.get("sharedInbox")),
            "outbox": ref("outbox"),
            "followers": ref("followers"),
            "following": ref("following"),
            "url": id_for_object(first(obj.get("url"))) if not isinstance(first(obj.get("url")), dict)
            else first(obj.get("url")).get("href"),
            "publicKeyId": key.get("id"),
            "publicKeyOwner": key.get("owner"),
            "publicKeyPem_present": isinstance(key.get("publicKeyPem"), str)
            and "BEGIN PUBLIC KEY" in key.get("publicKeyPem"),
            "manuallyApprovesFollowers": obj.get("manuallyApprovesFollowers"),
            "discoverable": obj.get("discoverable"),
            "json": obj,
        }

    async def control(self, request):
        route = request.match_info["route"]
        key = f"{request.method} {route}"
        body = {}
        if request.method == "POST":
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError as e:
                    return json_response({"ok": False, "error": f"bad JSON body: {e}"}, 400)
                if not isinstance(body, dict):
                    return json_response({"ok": False, "error": "bad JSON body: expected a JSON object"}, 400)

        if key == "GET health":
            return json_response({"ok": True, "actor": self.actor_id, "name": self.name,
                                  "origin": self.origin, "library": f"bovine {bovine_version()}"})
        if key == "GET inbox":
            return json_response({"activities": self.received})
        if key == "GET outgoing":
            return json_response({"requests": self.outgoing, "deliveries": self.deliveries})
        if key == "GET state":
            return json_response({
                "actor": self.actor_id,
                "followers": list(self.followers),
                "following": [{"actor": a, "follow": e["follow"]["id"], "state": e["state"]}
                              for a, e in self.following.items()],
            })
        if route == "reset" and request.method in ("POST", "GET"):
            self.received.clear()
            self.outgoing.clear()
            self.deliveries.clear()
            return json_response({"ok": True})
        if key == "POST lookup":
            try:
                url = require_url(body.get("url"), "url")
                return json_response(self.describe(await self.signed_fetch(url)))
            except Exception as e:
                log.warning("lookup: %s", error_text(e))
                return json_response({"ok": False, "error": error_text(e)})
        if key == "POST follow":
            try:
                url = require_url(body.get("actor"), "actor")
                actor = await self.fetch_actor(url)
                follow = self.factory.follow(actor["id"]).build()
                self.sent[follow["id"]] = follow
                self.following[actor["id"]] = {"follow": follow, "actor": actor, "state": "pending"}
                try:
                    status, text = await self.deliver(id_for_object(first(actor["inbox"])), follow)
                except Exception:
                    self.following.pop(actor["id"], None)
                    raise
                ok = 200 <= status < 300
                if not ok:
                    self.following.pop(actor["id"], None)
                result = {"ok": ok, "id": follow["id"], "status": status}
                if not ok:
                    result["error"] = f"inbox answered HTTP {status}: {text[:300]}"
                return json_response(result)
            except Exception as e:
                log.warning("follow: %s", error_text(e))
                return json_response({"ok": False, "error": error_text(e)})
        if key == "POST unfollow":
            try:
                url = require_url(body.get("actor"), "actor")
                entry = self.following.get(url)
                if entry is None:
                    # The caller may have used a URL that differs from the id.
                    actor = await self.signed_fetch(url)
                    entry = self.following.get(actor.get("id"))
                if entry is None:
                    raise ValueError(f"not following {url}")
                follow = {k: v for k, v in entry["follow"].items() if k != "@context"}
                undo = self.factory.undo(follow, include_activity=True).build()
                self.sent[undo["id"]] = undo
                status, text = await self.deliver(id_for_object(first(entry["actor"]["inbox"])), undo)
                ok = 200 <= status < 300
                if ok:
                    self.following.pop(entry["actor"]["id"], None)
                result = {"ok": ok, "id": undo["id"], "status": status}
                if not ok:
                    result["error"] = f"inbox answered HTTP {status}: {text[:300]}"
                return json_response(result)
            except Exception as e:
                log.warning("unfollow: %s", error_text(e))
                return json_response({"ok": False, "error": error_text(e)})
        return json_response({"ok": False, "error": f"no control route {key}"}, 404)

    # -- public routes ---------------------------------------------------------

    async def get_actor(self, request):
        if request.match_info["name"] != self.name:
            return json_response({"error": "not found"}, 404)
        return json_response(self.actor_doc, content_type=ACTIVITY_JSON)

    async def get_collection(self, request):
        if request.match_info["name"] != self.name:
            return json_response({"error": "not found"}, 404)
        which = request.match_info["collection"]
        if which == "followers":
            items = list(self.followers)
        elif which == "following":
            items = [a for a, e in self.following.items() if e["state"] == "accepted"]
        else:
            items = []
        return json_response({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{self.actor_id}/{which}",
            "type": "OrderedCollection",
            "totalItems": len(items),
            "orderedItems": items,
        }, content_type=ACTIVITY_JSON)

    async def get_activity(self, request):
        activity = self.sent.get(f"{self.origin}/activities/{request.match_info['id']}")
        if activity is None:
            return json_response({"error": "not found"}, 404)
        return json_response(activity, content_type=ACTIVITY_JSON)

    async def webfinger(self, request):
        resource = request.query.get("resource", "")
        host = urlsplit(self.origin).netloc
        if resource not in (f"acct:{self.name}@{host}", self.actor_id):
            return json_response({"error": "not found"}, 404)
        jrd = bovine.utils.webfinger_response_json(f"acct:{self.name}@{host}", self.actor_id)
        return json_response(jrd, content_type="application/jrd+json")


# ---------------------------------------------------------------------------
# helpers


def bovine_version():
    from importlib.metadata import version

    return version("bovine")


def require_url(value, field):
    if not isinstance(value, str):
        raise ValueError(f'"{field}" must be a string URL')
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f'"{field}" must be an http(s) URL')
    return value


def json_response(value, status=200, content_type="application/json"):
    return web.Response(
        status=status,
        body=json.dumps(value).encode("utf-8"),
        content_type=content_type,
        charset="utf-8",
    )


_tasks = set()


def spawn(coro, what):
    async def run():
        try:
            await coro
        except Exception as e:
            log.error("%s: %s", what, error_text(e), exc_info=not isinstance(e, FetchError))

    task = asyncio.get_running_loop().create_task(run())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


@web.middleware
async def errors_middleware(request, handler):
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as e:
        log.exception("request %s %s", request.method, request.path)
        return json_response({"ok": False, "error": error_text(e)}, 500)


def build_app(peer):
    app = web.Application(middlewares=[errors_middleware], client_max_size=4 * 1024 * 1024)
    app.router.add_route("*", "/control/{route}", peer.control)
    app.router.add_post("/inbox", peer.handle_inbox)
    app.router.add_post("/users/{name}/inbox", peer.handle_inbox)
    app.router.add_get("/users/{name}", peer.get_actor)
    app.router.add_get("/users/{name}/{collection:followers|following|outbox}", peer.get_collection)
    app.router.add_get("/activities/{id}", peer.get_activity)
    app.router.add_get("/.well-known/webfinger", peer.webfinger)
    return app


async def main(argv):
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, args.log_level.upper()),
        format=f"%(asctime)s [peer {args.name}] %(levelname)s %(name)s: %(message)s",
    )
    if args.log_level != "debug":
        # bovine logs every RFC 9421 attempt at info.
        logging.getLogger("bovine").setLevel(max(logging.WARNING, getattr(logging, args.log_level.upper())))

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", args.port))
    except OSError as e:
        print(f"peer.py: cannot listen on 127.0.0.1:{args.port}: {e}", file=sys.stderr)
        return 1
    sock.listen(128)
    sock.setblocking(False)
    origin = f"http://127.0.0.1:{sock.getsockname()[1]}"

    peer = Peer(args.name, origin, args.on_follow)
    await peer.start_client()
    runner = web.AppRunner(build_app(peer), access_log=None, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock, shutdown_timeout=1).start()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    sys.stdout.write(f"READY {peer.actor_id}\n")
    sys.stdout.flush()
    await stop.wait()
    await runner.cleanup()
    await peer.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
