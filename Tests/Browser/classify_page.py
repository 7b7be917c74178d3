#!/usr/bin/env python3
"""Drive the classify demo page (examples/classify/site) in headless Chromium.

Talks the Chrome DevTools Protocol over --remote-debugging-pipe (Python standard library only):
opens the page, screenshots the empty state, puts a photo in the `#file` input, waits until
`#status` reads "Done" or "Error", screenshots the result, and prints what the page shows as one
JSON object on stdout:

    {"status": "Done", "labels": [{"label": "tiger cat", "percent": "38.67%"}, ...],
     "time": "112 ms", "error": ""}

Exit status: 0 when the page reached "Done" or "Error" (a rejected photo is a valid outcome: the
caller checks "status"), 1 on a timeout, 2 when the browser or the protocol failed, 64 on bad usage.

    python3 Tests/Browser/classify_page.py --url http://127.0.0.1:PORT/sites/classify/ \
        --photo /path/cat.jpg --screenshots DIR [--timeout 60]

The browser is /usr/lib/chromium/chromium (Debian), falling back to /usr/bin/chromium; set
$CHROMIUM to use another binary.
"""

import argparse
import base64
import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time


class BrowserError(Exception):
    """Chromium failed, quit, or answered a protocol error."""


class Timeout(Exception):
    """The page did not get where it should within --timeout."""


def find_chromium():
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    # The Debian wrapper /usr/bin/chromium execs this binary (keeping fds 3 and 4) after sourcing
    # /etc/chromium.d; calling it directly skips the wrapper's extension and shm probing.
    for candidate in ("/usr/lib/chromium/chromium", "/usr/bin/chromium"):
        if os.access(candidate, os.X_OK):
            return candidate
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise BrowserError("no Chromium found (install the chromium package or set $CHROMIUM)")


class Browser:
    """One Chromium process and its DevTools pipe: fd 3 carries commands in, fd 4 answers out."""

    def __init__(self, binary, profile, log_path, deadline):
        self.deadline = deadline
        self.next_id = 0
        self.events = []  # every event seen so far, in order: (method, params, sessionId)
        self.inbox = queue.Queue()
        self.log_path = log_path
        flags = [
            "--headless=new",
            "--no-sandbox",  # we run as root, where the sandbox refuses to start
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--mute-audio",
            "--hide-scrollbars",
            "--window-size=1024,900",
            "--user-data-dir=" + profile,
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # Chromium reads commands from fd 3 and writes answers to fd 4. The pipe ends are first
        # moved to close-on-exec fds at 10 or above, so that the child's dup2 onto 3 and 4 cannot
        # clobber one with the other; only 3 and 4 (inheritable) survive the exec.
        commands_r, commands_w = os.pipe()
        answers_r, answers_w = os.pipe()
        child_r = _high_fd(commands_r)
        child_w = _high_fd(answers_w)

        def plumb():  # runs in the child between fork and exec
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)
            # close_fds would close 3 and 4 too, so leave Chromium nothing else of ours instead.
            for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
                if int(name) > 4:
                    try:
                        os.close(int(name))
                    except OSError:
                        pass

        self.log = open(log_path, "wb")
        try:
            self.process = subprocess.Popen(
                [binary] + flags, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                close_fds=False, preexec_fn=plumb, start_new_session=True)
        finally:
            for fd in (commands_r, answers_w, child_r, child_w):
                os.close(fd)
        self.commands = os.fdopen(commands_w, "wb", buffering=0)
        self.answers = os.fdopen(answers_r, "rb", buffering=0)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        pending = b""
        try:
            while True:
                chunk = self.answers.read(1 << 16)
                if not chunk:
                    break
                pending += chunk
                while b"\0" in pending:
                    message, pending = pending.split(b"\0", 1)
                    if message:
                        self.inbox.put(json.loads(message))
        except (OSError, ValueError) as error:
            self.inbox.put({"_closed": "reading the DevTools pipe failed: %s" % error})
            return
        self.inbox.put({"_closed": "Chromium closed the DevTools pipe"})

    def _remaining(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Timeout("ran past --timeout")
        return left

    def _take(self, timeout):
        try:
            message = self.inbox.get(timeout=timeout)
        except queue.Empty:
            return None
        if "_closed" in message:
            self.inbox.put(message)  # keep answering later waits with the same failure
            code = self.process.poll()
            raise BrowserError(message["_closed"] + (
                "" if code is None else " (Chromium exited with status %d)" % code))
        if "method" in message:
            self.events.append((message["method"], message.get("params", {}), message.get("sessionId")))
        return message

    def send(self, method, params=None, session=None):
        self.next_id += 1
        ident = self.next_id
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            self.commands.write(json.dumps(message).encode() + b"\0")
        except OSError as error:
            raise BrowserError("writing %s to the DevTools pipe failed: %s" % (method, error))
        while True:
            answer = self._take(self._remaining())
            if answer is None:
                raise Timeout("no answer to %s" % method)
            if answer.get("id") == ident:
                if "error" in answer:
                    raise BrowserError("%s failed: %s" % (method, answer["error"].get("message", answer["error"])))
                return answer.get("result", {})

    def wait_event(self, method, session=None, since=0):
        """The params of the first `method` event (for `session`) at index `since` or later."""
        index = since
        while True:
            while index < len(self.events):
                name, params, where = self.events[index]
                index += 1
                if name == method and (session is None or where == session):
                    return params
            if self._take(min(self._remaining(), 0.5)) is None:
                self._remaining()  # raises once the deadline has passed

    def drain(self):
        """Collects the events that have already arrived."""
        while self._take(0) is not None:
            pass

    def close(self):
        if self.process.poll() is None:
            try:
                self.next_id += 1
                self.commands.write(json.dumps({"id": self.next_id, "method": "Browser.close"}).encode() + b"\0")
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        # End any helper (zygote, renderer, GPU process) left in Chromium's own process group, and
        # give them a moment to go so that they do not write into the profile while it is removed.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for _ in range(30):
            if not _alive_in_group(self.process.pid):
                break
            time.sleep(0.1)
        for stream in (self.commands, self.answers, self.log):
            try:
                stream.close()
            except OSError:
                pass

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return ""
        # D-Bus complaints are normal in a container and say nothing about the failure.
        useful = [line for line in text.strip().splitlines() if "dbus" not in line.lower()]
        return "\n".join(useful[-lines:])


def _alive_in_group(pgid):
    """Whether a process of group `pgid` is still running (zombies wait for init and do not count)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return False
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def _high_fd(fd):
    import fcntl
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)


@contextlib.contextmanager
def launched_browser(timeout):
    """Headless Chromium with a throwaway profile for `timeout` seconds; closed and removed afterwards."""
    deadline = time.monotonic() + timeout
    profile = tempfile.mkdtemp(prefix="stratus-chromium-")
    browser = None
    try:
        browser = Browser(find_chromium(), profile, os.path.join(profile, "chromium.log"), deadline)
        yield browser
    finally:
        if browser is not None:
            browser.close()
        shutil.rmtree(profile, ignore_errors=True)


class Page:
    def __init__(self, browser, session):
        self.browser = browser
        self.session = session

    @classmethod
    def open(cls, browser, width, domains=()):
        """A new blank tab, `width` x 900 CSS pixels, with the Page, Runtime and Log events (and `domains`) on."""
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = cls(browser, session)
        for domain in ("Page.enable", "Runtime.enable", "Log.enable") + tuple(domains):
            page.send(domain)
        page.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        return page

    def send(self, method, params=None):
        return self.browser.send(method, params, self.session)

    def evaluate(self, expression, await_promise=False):
        result = self.send("Runtime.evaluate", {
            "expression": expression, "returnByValue": True, "awaitPromise": await_promise})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError("evaluating %r threw: %s" % (expression[:60], text))
        return result.get("result", {}).get("value")

    def screenshot(self, path):
        # Let pending layout and image decoding land on screen first.
        self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))",
                      await_promise=True)
        metrics = self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics.get("contentSize")
        shot = self.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": max(1, size["width"]), "height": max(1, size["height"]), "scale": 1}})
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(shot["data"]))


READ_PAGE = r"""(() => {
  const text = (el) => el ? el.textContent.trim() : '';
  const error = document.getElementById('error');
  return {
    status: text(document.getElementById('status')),
    labels: Array.from(document.querySelectorAll('#results .result')).map(row => ({
      label: text(row.querySelector('.label')), percent: text(row.querySelector('.percent'))})),
    time: text(document.getElementById('time')),
    error: error && !error.hidden ? text(error) : ''
  };
})()"""


def run(args):
    photo = os.path.abspath(args.photo)
    if not os.path.isfile(photo):
        raise SystemExit(_usage("no such file: %s" % photo))
    os.makedirs(args.screenshots, exist_ok=True)
    with launched_browser(args.timeout) as browser:
        try:
            return drive(browser, args, photo)
        except (BrowserError, Timeout) as error:
            tail = browser.log_tail()
            problems = [p for p in page_problems(browser)]
            detail = "".join("\n  page: " + p for p in problems)
            if tail and isinstance(error, BrowserError) and "net::" not in str(error):
                detail += "\n  chromium log (last lines):\n    " + tail.replace("\n", "\n    ")
            raise type(error)(str(error) + detail)


def page_problems(browser):
    """Console errors and uncaught exceptions the page reported, for failure messages."""
    for method, params, _ in browser.events:
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            yield "uncaught: " + (details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            yield "log: %s %s" % (entry.get("text", ""), entry.get("url", ""))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            yield "console.error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))


def drive(browser, args, photo):
    page = Page.open(browser, 1024, domains=("DOM.enable",))
    session = page.session

    mark = len(browser.events)
    navigation = page.send("Page.navigate", {"url": args.url})
    if navigation.get("errorText"):
        raise BrowserError("loading %s failed: %s" % (args.url, navigation["errorText"]))
    browser.wait_event("Page.loadEventFired", session, since=mark)
    ready = page.evaluate("!!(document.getElementById('file') && document.getElementById('status'))")
    if not ready:
        raise BrowserError("%s has no #file input or #status (is it the classify page?)" % args.url)
    page.screenshot(os.path.join(args.screenshots, "classify-empty.png"))

    root = page.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = page.send("DOM.querySelector", {"nodeId": root, "selector": "#file"})["nodeId"]
    if not node:
        raise BrowserError("no #file element")
    page.send("DOM.setFileInputFiles", {"files": [photo], "nodeId": node})

    status = ""
    while True:
        try:
            status = page.evaluate("document.getElementById('status').textContent.trim()")
        except Timeout:
            status = status or "(unknown)"
        if status in ("Done", "Error"):
            break
        if time.monotonic() >= browser.deadline - 0.2:
            raise Timeout("#status still reads %r after %gs (the page never reached Done or Error)"
                          % (status, args.timeout))
        time.sleep(0.1)

    # Give the preview image a moment to decode so the screenshot shows it (best effort).
    for _ in range(20):
        if page.evaluate("(() => { const p = document.getElementById('preview');"
                         " return !p || p.hidden || !p.getAttribute('src') || p.complete; })()"):
            break
        time.sleep(0.1)
    page.screenshot(os.path.join(args.screenshots, "classify-result.png"))
    return page.evaluate(READ_PAGE)


def _usage(message):
    sys.stderr.write("classify_page.py: %s\n" % message)
    return 64


def main(argv=None):
    parser = argparse.ArgumentParser(description="Drive the Stratus classify demo page in headless Chromium.")
    parser.add_argument("--url", required=True, help="the page, e.g. http://127.0.0.1:8080/sites/classify/")
    parser.add_argument("--photo", required=True, help="the file to put in the page's file input")
    parser.add_argument("--screenshots", required=True, help="folder for classify-empty.png and classify-result.png")
    parser.add_argument("--timeout", type=float, default=60, help="seconds for the whole run (default 60)")
    args = parser.parse_args(argv)

    # A SIGTERM (e.g. from a test runner's timeout) still ends Chromium and removes the profile.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        result = run(args)
    except Timeout as error:
        sys.stderr.write("classify_page.py: timeout: %s\n" % error)
        return 1
    except BrowserError as error:
        sys.stderr.write("classify_page.py: browser failure: %s\n" % error)
        return 2
    except KeyboardInterrupt:
        return 130
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
