"""The second opinion for wm-http's differential test: llhttp, through Python `httptools`.

    python3 llhttp.py FILE...  parse each FILE's bytes as one connection's whole input
    python3 llhttp.py          the same, for stdin

Prints, for each input in order, one JSON object on one line:

    {"requests": [{"method", "url", "version", "headers", "body", "complete"}, ...],
     "error": null or "ExceptionClass: llhttp's reason",
     "upgrade": true when llhttp stopped at an upgrade (CONNECT, `Upgrade:`)}

`requests` lists every message llhttp began, in order; the last one has `complete`
false when the input ended inside it (httptools has no end-of-input call, so an
unfinished message is simply left unfinished). `url` has bytes outside printable ASCII
written as \\xNN, so the JSON is plain ASCII and both sides can print it the same way.
The parser is httptools' default: llhttp with no leniencies (strict).
"""

import json
import sys

import httptools


def escape(raw: bytes) -> str:
    return "".join(chr(b) if 0x21 <= b <= 0x7E and b != 0x5C else "\\x%02x" % b for b in raw)


class Summary:
    """httptools' callback protocol: collects what each message looked like."""

    def __init__(self):
        self.requests = []
        self.parser = None

    def current(self):
        return self.requests[-1]

    def on_message_begin(self):
        self.requests.append(
            {"method": None, "url": b"", "version": None, "headers": 0, "body": 0, "complete": False}
        )

    def on_url(self, url: bytes):
        # Called more than once when the URL arrives in pieces.
        self.current()["url"] += url

    def on_header(self, name: bytes, value: bytes):
        self.current()["headers"] += 1

    def on_headers_complete(self):
        self.current()["method"] = self.parser.get_method().decode("latin-1")
        self.current()["version"] = self.parser.get_http_version()

    def on_body(self, body: bytes):
        self.current()["body"] += len(body)

    def on_message_complete(self):
        self.current()["complete"] = True


def summarise(data: bytes) -> dict:
    summary = Summary()
    parser = httptools.HttpRequestParser(summary)
    summary.parser = parser
    error = None
    upgrade = False
    try:
        parser.feed_data(data)
    except httptools.HttpParserUpgrade:
        upgrade = True
    except httptools.HttpParserError as exc:
        # HttpParserInvalidMethodError and the other specific errors are subclasses.
        error = "%s: %s" % (type(exc).__name__, exc)
    for request in summary.requests:
        request["url"] = escape(request["url"])
    return {"requests": summary.requests, "error": error, "upgrade": upgrade}


def main():
    if len(sys.argv) == 1:
        print(json.dumps(summarise(sys.stdin.buffer.read()), sort_keys=True))
    # A fresh parser per file: each is a connection of its own.
    for path in sys.argv[1:]:
        with open(path, "rb") as file:
            print(json.dumps(summarise(file.read()), sort_keys=True))


if __name__ == "__main__":
    main()
