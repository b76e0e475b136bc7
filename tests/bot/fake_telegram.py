"""A small fake of the Telegram Bot API for tests.

``FakeBotAPI`` keeps the state (queued updates, every call the bot made, the messages it
sent) and answers Bot API methods. It is reachable two ways:

* ``FakeRequest``: a PTB ``BaseRequest`` that routes calls straight to it (unit tests, no
  network);
* ``FakeTelegramServer``: a real HTTP server on 127.0.0.1 speaking the Bot API wire format
  (``POST /bot<token>/<method>``), including long-polling ``getUpdates`` (end-to-end tests).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from telegram.request import BaseRequest, RequestData

BOT_ID = 777000111
BOT_USERNAME = "vetbot_test_bot"
TINY_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"

# Parameters the Bot API receives JSON-encoded (everything else is a plain string).
_JSON_PARAMS = {
    "reply_markup",
    "entities",
    "allowed_updates",
    "commands",
    "link_preview_options",
    "reply_parameters",
    "caption_entities",
    "scope",
}
_INT_PARAMS = {"chat_id", "message_id", "offset", "limit", "timeout", "user_id"}


def _decode_params(raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _JSON_PARAMS:
            out[key] = json.loads(value)
        elif key in _INT_PARAMS:
            try:
                out[key] = int(value)
            except ValueError:
                out[key] = value
        else:
            out[key] = value
    return out


class FakeBotAPI:
    """State and behaviour of the fake Bot API (thread-safe)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}  # (chat_id, message_id) -> message
        self.sent: list[dict[str, Any]] = []  # every sendMessage result, in order
        self.edits: list[dict[str, Any]] = []  # every editMessageText / editMessageReplyMarkup call
        self.callback_answers: list[dict[str, Any]] = []
        # Bytes served for a file_id by the file download URL (getFile's file_path); others get
        # a tiny JPEG. ``downloads`` lists every file_id downloaded, in order.
        self.files: dict[str, bytes] = {}
        self.downloads: list[str] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._user_message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self.bot_user = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "退役军人服务助手",
            "username": BOT_USERNAME,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    # ---------------------------------------------------------------- update builders
    @staticmethod
    def user(user_id: int, name: str = "老兵") -> dict[str, Any]:
        """A Telegram user object."""
        return {"id": user_id, "is_bot": False, "first_name": name, "language_code": "zh-hans"}

    @staticmethod
    def chat(chat_id: int, name: str = "老兵") -> dict[str, Any]:
        """A private chat object."""
        return {"id": chat_id, "type": "private", "first_name": name}

    def message_update(self, user_id: int, text: str | None = None, **extra: Any) -> dict[str, Any]:
        """An update carrying a user's message (text, or e.g. ``photo=[...]``, ``sticker={...}``)."""
        msg: dict[str, Any] = {
            "message_id": next(self._user_message_ids),
            "date": int(time.time()),
            "chat": self.chat(user_id),
            "from": self.user(user_id),
        }
        if text is not None:
            msg["text"] = text
            if text.startswith("/"):
                cmd = text.split()[0]
                msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(cmd)}]
        msg.update(extra)
        return {"update_id": next(self._update_ids), "message": msg}

    def photo_update(
        self, user_id: int, file_id: str = "photo-file-1", caption: str | None = None
    ) -> dict[str, Any]:
        """An update carrying a photo (two sizes, as Telegram sends)."""
        sizes = [
            {
                "file_id": f"{file_id}-s",
                "file_unique_id": f"{file_id}-us",
                "width": 90,
                "height": 90,
                "file_size": 1200,
            },
            {
                "file_id": file_id,
                "file_unique_id": f"{file_id}-u",
                "width": 800,
                "height": 800,
                "file_size": 81234,
            },
        ]
        extra: dict[str, Any] = {"photo": sizes}
        if caption:
            extra["caption"] = caption
        return self.message_update(user_id, None, **extra)

    def callback_update(
        self, user_id: int, data: str, message: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """An update for a press of an inline button with ``data`` on ``message`` (one the bot sent)."""
        if message is None:
            message = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": self.chat(user_id),
                "from": self.bot_user,
                "text": "…",
            }
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": str(next(self._callback_ids)),
                "from": self.user(user_id),
                "chat_instance": f"ci-{user_id}",
                "message": message,
                "data": data,
            },
        }

    def push(self, update: dict[str, Any]) -> None:
        """Queue an update for ``getUpdates``."""
        with self.cond:
            self._updates.append(update)
            self.cond.notify_all()

    # ---------------------------------------------------------------- queries for tests
    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages sent to ``chat_id``, with their latest text and markup after edits."""
        with self.cond:
            return [
                self.messages[(chat_id, m["message_id"])] for m in self.sent if m["chat"]["id"] == chat_id
            ]

    def texts_to(self, chat_id: int) -> list[str]:
        """Texts sent to ``chat_id`` (latest version after edits)."""
        return [m.get("text", "") for m in self.sent_to(chat_id)]

    def find_button(self, chat_id: int, text_part: str) -> tuple[dict[str, Any], str]:
        """The newest message to ``chat_id`` with an inline button whose label contains ``text_part``."""
        for msg in reversed(self.sent_to(chat_id)):
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if text_part in button["text"] and "callback_data" in button:
                        return msg, button["callback_data"]
        raise AssertionError(f"no inline button containing {text_part!r} sent to {chat_id}")

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        """Block until ``predicate()`` (evaluated under the lock) holds; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for the bot")
                self.cond.wait(left)

    def count_sent(self, chat_id: int) -> int:
        """How many messages were sent to ``chat_id`` (call under no lock)."""
        return sum(1 for m in self.sent if m["chat"]["id"] == chat_id)

    def methods(self) -> list[str]:
        """Names of the API methods called so far."""
        with self.cond:
            return [name for name, _ in self.calls]

    # ---------------------------------------------------------------- Bot API
    def handle(self, method: str, params: dict[str, Any], *, wait: bool = True) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call; returns (HTTP status, response JSON)."""
        name = method.lower()
        if name == "getupdates":
            return 200, {"ok": True, "result": self._get_updates(params, wait=wait)}
        with self.cond:
            self.calls.append((method, params))
            try:
                result = self._dispatch(name, params)
            except KeyError as exc:
                return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
            self.cond.notify_all()
        if result is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        return 200, {"ok": True, "result": result}

    def _get_updates(self, params: dict[str, Any], *, wait: bool) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0) if wait else 0.0
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self.cond:
            self.calls.append(("getUpdates", params))
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self._updates[:limit])

    @staticmethod
    def _public(msg: dict[str, Any]) -> dict[str, Any]:
        """The message as the Bot API returns it (only inline keyboards come back)."""
        out = {k: v for k, v in msg.items() if k not in ("parse_mode", "reply_markup")}
        markup = msg.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            out["reply_markup"] = markup
        return out

    def _dispatch(self, name: str, p: dict[str, Any]) -> Any:
        if name == "getme":
            return self.bot_user
        if name in {
            "deletewebhook",
            "setwebhook",
            "setmycommands",
            "sendchataction",
            "close",
            "logout",
            "deletemycommands",
        }:
            return True
        if name == "sendmessage":
            chat_id = int(p["chat_id"])
            msg = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": self.chat(chat_id),
                "from": self.bot_user,
                "text": p["text"],
            }
            if p.get("reply_markup"):
                msg["reply_markup"] = p["reply_markup"]
            msg["parse_mode"] = p.get("parse_mode")
            self.messages[(chat_id, msg["message_id"])] = msg
            self.sent.append(msg)
            return self._public(msg)
        if name in {"editmessagetext", "editmessagereplymarkup"}:
            chat_id, message_id = int(p["chat_id"]), int(p["message_id"])
            self.edits.append({"method": name, **p})
            msg = self.messages.get((chat_id, message_id))
            if msg is None:  # a message the bot never sent (unit tests make some up)
                msg = {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": self.chat(chat_id),
                    "from": self.bot_user,
                    "text": "",
                }
                self.messages[(chat_id, message_id)] = msg
            if name == "editmessagetext":
                msg["text"] = p["text"]
            if "reply_markup" in p or name == "editmessagereplymarkup":
                if p.get("reply_markup"):
                    msg["reply_markup"] = p["reply_markup"]
                else:
                    msg.pop("reply_markup", None)
            return self._public(msg)
        if name == "answercallbackquery":
            self.callback_answers.append(p)
            return True
        if name == "getfile":
            return {
                "file_id": p["file_id"],
                "file_unique_id": "u-" + p["file_id"],
                "file_size": 10,
                "file_path": f"photos/{p['file_id']}.jpg",
            }
        return None

    def download(self, path: str) -> tuple[int, bytes]:
        """Serve ``/file/bot<token>/photos/<file_id>.jpg`` (the file URL of getFile)."""
        file_id = path.rsplit("/", 1)[-1].removesuffix(".jpg")
        with self.cond:
            self.downloads.append(file_id)
            data = self.files.get(file_id, TINY_JPEG)
        return 200, data


class FakeRequest(BaseRequest):
    """A PTB request object that answers every call from a ``FakeBotAPI`` in-process."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        """No network, no timeout."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Route the call to the fake API (``getUpdates`` never blocks here)."""
        if "/file/bot" in url:
            return self.api.download(url)
        api_method = url.rsplit("/", 1)[-1]
        params = _decode_params(request_data.json_parameters) if request_data else {}
        status, payload = self.api.handle(api_method, params, wait=False)
        return status, json.dumps(payload).encode()


class FakeTelegramServer:
    """``FakeBotAPI`` served over HTTP on 127.0.0.1 in a background thread."""

    def __init__(self, api: FakeBotAPI | None = None) -> None:
        self.api = api or FakeBotAPI()
        api_ref = self.api

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                if "/file/bot" not in self.path:
                    self.do_POST()
                    return
                status, data = api_ref.download(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    raw = {
                        k: v if isinstance(v, str) else json.dumps(v)
                        for k, v in json.loads(body or b"{}").items()
                    }
                else:
                    raw = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
                method = self.path.rstrip("/").rsplit("/", 1)[-1]
                status, payload = api_ref.handle(method, _decode_params(raw))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)


        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-telegram", daemon=True)

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give PTB (it appends ``<token>/<method>``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/bot"

    def start(self) -> FakeTelegramServer:
        """Start serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release long-polling requests."""
        with self.api.cond:
            self.api.cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
