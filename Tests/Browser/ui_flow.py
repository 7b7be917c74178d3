#!/usr/bin/env python3
"""Drive the Stratus web UI (/ui/) through its main flow in headless Chromium.

Uses the DevTools-over-pipe browser driver of classify_page.py (same folder; Python standard
library only). Steps, each failing the run with a message on stderr:

  1. open --url, log in with a wrong password: #login-error shows a message   (ui-login-error.png)
  2. log in with --password: the functions list shows                         (ui-functions.png)
  3. store: click button[data-deploy=STORE-ID], wait for "Deployed"           (ui-store.png)
  4. #/function/NAME: invoke with body "Hi", wait for the expected answer     (ui-invoke.png)
  5. functions list: the row's .invocations reaches >= 1 without a reload
  6. function page: #logs shows at least one line                             (ui-function.png)
  7. delete through the in-page confirmation; the row disappears              (ui-deleted.png)
  8. queue and secrets pages, and the list at 360 px wide  (ui-queue.png, ui-secrets.png, ui-mobile.png)

On success prints a JSON summary on stdout and exits 0. Exit status 1: a step failed or timed out;
2: the browser or the protocol failed; 64: bad usage.

    python3 Tests/Browser/ui_flow.py --url http://127.0.0.1:PORT/ui/ --user admin --password PW \
        --screenshots DIR [--timeout 120]

Against a server started with --no-auth (checks only that the app opens on the functions list,
without a login form, showing that auth is off; ui-auth-off.png):

    python3 Tests/Browser/ui_flow.py --url http://127.0.0.1:PORT/ui/ --auth-off --screenshots DIR

Against a server without the store, or to keep an existing function, e.g.:

    ... --function echo --skip-store --keep-function      (invokes echo with "Hi", expects "Hi")
"""

import argparse
import json
import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # importing classify_page must not leave __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify_page import BrowserError, Page, Timeout, launched_browser, page_problems  # noqa: E402

PROG = "ui_flow.py"


class StepFailed(Exception):
    """A step of the flow did not get where it should."""


class Flow:
    def __init__(self, browser, page, args):
        self.browser = browser
        self.page = page
        self.args = args
        self.step = "start"
        self.summary = {"steps": [], "screenshots": []}

    # ----- small helpers -----

    def begin(self, name):
        self.step = name
        self.started = time.monotonic()
        if self.args.verbose:
            sys.stderr.write("%s: step %s\n" % (PROG, name))

    def done(self, **facts):
        entry = {"step": self.step, "seconds": round(time.monotonic() - self.started, 2)}
        entry.update(facts)
        self.summary["steps"].append(entry)

    def js(self, expression, await_promise=False):
        return self.page.evaluate(expression, await_promise)

    def wait_for(self, expression, what, timeout=None, interval=0.2):
        """Polls `expression` until it is truthy; returns its value. `what` names it in errors."""
        limit = time.monotonic() + (timeout if timeout is not None else self.args.step_timeout)
        limit = min(limit, self.browser.deadline - 0.5)
        value = None
        while True:
            value = self.js(expression)
            if value:
                return value
            if time.monotonic() >= limit:
                raise StepFailed("%s: timed out waiting for %s" % (self.step, what))
            time.sleep(interval)

    def exists(self, selector):
        return self.js("!!document.querySelector(%s)" % json.dumps(selector))

    def visible_expr(self, selector):
        return ("(() => { const e = document.querySelector(%s); if (!e) return false;"
                " const r = e.getBoundingClientRect(); const s = getComputedStyle(e);"
                " return !e.closest('[hidden]') && s.visibility !== 'hidden' && s.display !== 'none'"
                " && r.width > 0 && r.height > 0; })()" % json.dumps(selector))

    def text(self, selector):
        return self.js("(() => { const e = document.querySelector(%s); return e ? e.textContent.trim() : null; })()"
                       % json.dumps(selector))

    def click(self, selector, what=None):
        self.wait_for(self.visible_expr(selector), "%s to be visible" % (what or selector))
        disabled = self.js("document.querySelector(%s).disabled === true" % json.dumps(selector))
        if disabled:
            self.wait_for("document.querySelector(%s).disabled !== true" % json.dumps(selector),
                          "%s to be enabled" % (what or selector))
        self.js("(() => { const e = document.querySelector(%s); e.scrollIntoView({block: 'center'}); e.focus();"
                " e.click(); return true; })()" % json.dumps(selector))

    def type_into(self, selector, value):
        self.wait_for(self.visible_expr(selector), "%s to be visible" % selector)
        self.js("(() => { const e = document.querySelector(%s); e.focus(); e.value = %s;"
                " e.dispatchEvent(new Event('input', {bubbles: true}));"
                " e.dispatchEvent(new Event('change', {bubbles: true})); return true; })()"
                % (json.dumps(selector), json.dumps(value)))

    def go(self, hash_, link=True):
        """Goes to a page by clicking its nav link (or setting location.hash)."""
        selector = 'nav a[href="%s"]' % hash_
        if link and self.exists(selector):
            self.click(selector, "nav link %s" % hash_)
        else:
            self.js("location.hash = %s" % json.dumps(hash_))
        self.wait_for("location.hash === %s" % json.dumps(hash_), "the address to become %s" % hash_)

    def shot(self, name):
        path = os.path.join(self.args.screenshots, name)
        self.page.screenshot(path)
        self.summary["screenshots"].append(path)

    def functions_loaded(self):
        """Waits until the list shows its table or its empty state (no longer loading)."""
        self.wait_for("location.hash === '#/functions' && (%s || %s)" % (
            self.visible_expr("#functions-table"), self.visible_expr("#functions-empty")),
            "the functions list (table or empty state)")
        error = self.js("(() => { const e = document.getElementById('functions-error');"
                        " return e && !e.hidden ? e.textContent.trim() : ''; })()")
        if error:
            raise StepFailed("%s: the functions page shows an error: %s" % (self.step, error))

    def row_selector(self, name):
        return 'tr[data-function="%s"]' % name.replace('\\', '\\\\').replace('"', '\\"')

    # ----- the flow -----

    def run(self):
        args = self.args
        name = args.function
        row = self.row_selector(name)

        if args.auth_off:
            # A server started with --no-auth: the app opens on the functions list, no login form,
            # and says that auth is off.
            self.begin("1-auth-off")
            mark = len(self.browser.events)
            navigation = self.page.send("Page.navigate", {"url": args.url})
            if navigation.get("errorText"):
                raise BrowserError("loading %s failed: %s" % (args.url, navigation["errorText"]))
            self.browser.wait_event("Page.loadEventFired", self.page.session, since=mark)
            self.wait_for(self.visible_expr("#main") + " && " + self.visible_expr("#auth-off"),
                          "the app and the auth-off badge to show without logging in")
            if self.js(self.visible_expr("#login-form")) or self.js(self.visible_expr("#logout")):
                raise StepFailed("%s: a login form or a log-out button shows although auth is off" % self.step)
            self.functions_loaded()
            if self.js("location.hash") != "#/functions":
                raise StepFailed("%s: opened on %r, not the functions list" % (self.step, self.js("location.hash")))
            self.shot("ui-auth-off.png")
            self.done(badge=self.text("#auth-off"))
            return self.summary

        self.begin("1-login-error")
        mark = len(self.browser.events)
        navigation = self.page.send("Page.navigate", {"url": args.url})
        if navigation.get("errorText"):
            raise BrowserError("loading %s failed: %s" % (args.url, navigation["errorText"]))
        self.browser.wait_event("Page.loadEventFired", self.page.session, since=mark)
        self.js("sessionStorage.clear(); true")
        self.js("location.hash = '#/functions'; true")
        self.wait_for(self.visible_expr("#login-user"), "the login form (#login-user)")
        self.type_into("#login-user", args.user)
        self.type_into("#login-password", args.password + "-wrong")
        self.click("#login-submit")
        self.wait_for("(() => { const e = document.getElementById('login-error');"
                      " return e && !e.hidden && e.textContent.trim().length > 0; })()"
                      " && " + self.visible_expr("#login-error"), "#login-error to show a message")
        message = self.text("#login-error")
        role = self.js("document.getElementById('login-error').getAttribute('role')")
        if role != "alert":
            raise StepFailed("%s: #login-error has role=%r, not alert" % (self.step, role))
        if self.js(self.visible_expr("#main")):
            raise StepFailed("%s: the app shows although the password was wrong" % self.step)
        self.shot("ui-login-error.png")
        self.done(message=message)

        self.begin("2-login")
        self.type_into("#login-user", args.user)
        self.type_into("#login-password", args.password)
        self.click("#login-submit")
        self.wait_for(self.visible_expr("#main") + " && !" + self.visible_expr("#login-form"),
                      "the app to show after logging in")
        for link in ("#/functions", "#/store", "#/queue", "#/secrets", "#/nodes"):
            if not self.exists('a[href="%s"]' % link):
                raise StepFailed("%s: no nav link a[href=%r]" % (self.step, link))
        self.functions_loaded()
        self.shot("ui-functions.png")
        self.done(functions=self.js("document.querySelectorAll('tr[data-function]').length"))

        if args.skip_store:
            self.summary["steps"].append({"step": "3-store", "skipped": True})
        else:
            self.begin("3-store")
            store_id = args.store_id
            button = 'button[data-deploy="%s"]' % store_id
            status = '[data-store-status="%s"]' % store_id
            self.go("#/store")
            self.wait_for("!!document.querySelector(%s) || (() => { const e = document.getElementById('store-error');"
                          " return e && !e.hidden; })()" % json.dumps(button),
                          "the store entry %r (%s)" % (store_id, button))
            if not self.exists(button):
                raise StepFailed("%s: the store page shows an error: %s" % (self.step, self.text("#store-error")))
            self.click(button)
            self.wait_for("(() => { const e = document.querySelector(%s); return !!e && e.textContent.trim() !== ''; })()"
                          % json.dumps(status), "%s to say Deploying…" % status, timeout=10)
            final = self.wait_for(
                "(() => { const e = document.querySelector(%s); if (!e) return '';"
                " const t = e.textContent.trim(); return /Deployed/.test(t) || /^Failed/.test(t) ? t : ''; })()"
                % json.dumps(status), "%s to say Deployed (or fail)" % status, timeout=args.deploy_timeout)
            if "Deployed" not in final:
                raise StepFailed("%s: deploying %r failed, the page says: %s" % (self.step, store_id, final))
            self.shot("ui-store.png")
            self.done(status=final)

        self.begin("4-invoke")
        self.js("location.hash = %s" % json.dumps("#/function/" + name))
        self.wait_for(self.visible_expr("#invoke-body") + " && " + self.visible_expr("#invoke-submit"),
                      "the invoke panel (#invoke-body, #invoke-submit)")
        if self.js("(() => { const e = document.getElementById('function-error'); return !!e && !e.hidden; })()"):
            raise StepFailed("%s: the function page says: %s" % (self.step, self.text("#function-error")))
        self.type_into("#invoke-body", "Hi")
        self.click("#invoke-submit")
        expected = args.expect
        got = self.wait_for(
            "(() => { const o = document.getElementById('invoke-output'); const t = o ? o.textContent : '';"
            " const err = document.getElementById('invoke-error');"
            " if (err && !err.hidden && err.textContent) return 'ERROR: ' + err.textContent;"
            " return t.includes(%s) ? t : ''; })()" % json.dumps(expected),
            "#invoke-output to contain %r (now %r)" % (expected, self.text("#invoke-output")))
        if got.startswith("ERROR: "):
            raise StepFailed("%s: the invoke panel shows an error: %s" % (self.step, got[7:]))
        status = self.text("#invoke-status") or ""
        if not status.startswith("200"):
            raise StepFailed("%s: #invoke-status reads %r, expected it to start with 200" % (self.step, status))
        self.shot("ui-invoke.png")
        self.done(output=got.strip(), status=status)

        self.begin("5-invocations")
        self.js("window.__uiFlowMarker = 'same-page'; true")
        self.go("#/functions")
        self.functions_loaded()
        self.wait_for("!!document.querySelector(%s)" % json.dumps(row), "the row %s" % row)
        first = self.text(row + " .invocations")
        count_expr = ("(() => { const e = document.querySelector(%s); if (!e) return 0;"
                      " const n = parseInt(e.textContent.replace(/[^0-9]/g, ''), 10); return n >= 1 ? n : 0; })()"
                      % json.dumps(row + " .invocations"))
        count = self.wait_for(count_expr, "%s .invocations to show a number >= 1 (it shows %r)" % (row, first))
        if self.js("window.__uiFlowMarker") != "same-page":
            raise StepFailed("%s: the page reloaded while waiting for the invocation count" % self.step)
        self.done(first=first, invocations=count)

        self.begin("6-logs")
        self.js("location.hash = %s" % json.dumps("#/function/" + name))
        self.wait_for("!!document.getElementById('logs')", "#logs")
        try:
            lines = self.wait_for(
                "(() => { const t = document.getElementById('logs').textContent.trim();"
                " return t ? t.split('\\n').length : 0; })()",
                "#logs to show at least one line", timeout=args.logs_timeout if args.logs_optional else None)
        except StepFailed:
            if not args.logs_optional:
                raise
            lines = 0
        self.wait_for("!!document.querySelector('#charts svg') || /No data yet/.test(document.getElementById('charts').textContent)",
                      "the charts (an svg or 'No data yet')")
        charts = self.js("document.querySelectorAll('#charts svg').length")
        self.shot("ui-function.png")
        self.done(logLines=lines, charts=charts)

        self.begin("7-delete")
        self.click("#delete-function")
        self.wait_for(self.visible_expr("#confirm-delete") + " && " + self.visible_expr("#cancel-delete"),
                      "the in-page confirmation (#confirm-delete, #cancel-delete)")
        confirm_text = self.text("#confirm-delete")
        if name not in (confirm_text or ""):
            raise StepFailed("%s: #confirm-delete reads %r, expected it to name %r" % (self.step, confirm_text, name))
        if args.keep_function:
            self.click("#cancel-delete")
            self.wait_for("!" + self.visible_expr("#confirm-delete") + " && " + self.visible_expr("#delete-function"),
                          "the confirmation to close after Cancel")
            self.go("#/functions")
            self.functions_loaded()
            self.shot("ui-deleted.png")
            self.done(deleted=False, cancelled=True)
        else:
            self.click("#confirm-delete")
            self.wait_for("location.hash === '#/functions'", "the list to show again after deleting")
            self.functions_loaded()
            # Gone, and still gone a refresh (2 s) later.
            self.wait_for("!document.querySelector(%s)" % json.dumps(row), "the row %s to disappear" % row)
            time.sleep(2.5)
            if self.exists(row):
                raise StepFailed("%s: the row %s came back after deleting" % (self.step, row))
            self.shot("ui-deleted.png")
            self.done(deleted=True)

        if self.args.upload_wasm:
            self.begin("8-upload")
            self.go("#/store")
            self.wait_for("!!document.getElementById('upload-file')", "the upload form")
            self.type_into("#upload-name", "uploaded")
            root = self.page.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
            node = self.page.send("DOM.querySelector", {"nodeId": root, "selector": "#upload-file"})["nodeId"]
            self.page.send("DOM.setFileInputFiles", {"files": [os.path.abspath(self.args.upload_wasm)], "nodeId": node})
            self.click("#upload-submit")
            self.wait_for("/Deployed|Failed/.test(document.getElementById('upload-status').textContent)", "the upload to finish",
                          timeout=self.args.deploy_timeout)
            status = self.text("#upload-status")
            if "Deployed" not in status:
                raise StepFailed("%s: uploading %s: %s" % (self.step, self.args.upload_wasm, status))
            self.shot("ui-upload.png")
            self.done(uploaded=status)

        if self.args.versioned:
            # A function with a timer trigger, two published versions and a weighted alias (made by the
            # test through the CLI): its page shows all three.
            versioned = self.args.versioned
            self.begin("8b-versions-timer")
            self.js("location.hash = %s" % json.dumps("#/function/" + versioned))
            self.wait_for("(() => { const h = document.getElementById('h-spec'); const c = h && h.parentElement;"
                          " return c && /Timer trigger/.test(c.textContent) && /Versions/.test(c.textContent); })()",
                          "the specification to show the timer trigger and the versions")
            spec = self.js("document.getElementById('h-spec').parentElement.textContent")
            for needle in ("@every 1h", "Next run", versioned + ":1", versioned + ":2", versioned + ":prod", "version 1 90%", "version 2 10%"):
                if needle not in spec:
                    raise StepFailed("%s: the function page does not show %r: %s" % (self.step, needle, spec[:1500]))
            self.shot("ui-versions.png")
            self.done()

        self.begin("9-queue-secrets")
        self.go("#/queue")
        self.wait_for("document.querySelectorAll('.counts li').length > 0 || (() => {"
                      " const e = document.getElementById('queue-error'); return e && !e.hidden; })()",
                      "the queue counts")
        queue_error = self.js("(() => { const e = document.getElementById('queue-error'); return e && !e.hidden ? e.textContent : ''; })()")
        if queue_error:
            raise StepFailed("%s: the queue page shows an error: %s" % (self.step, queue_error))
        self.shot("ui-queue.png")
        self.go("#/secrets")
        self.wait_for("!!document.getElementById('secrets-list') && !/Loading/.test(document.getElementById('secrets-list').textContent)",
                      "the secrets list")
        for field in ("#secret-name", "#secret-value"):
            if not self.exists(field):
                raise StepFailed("%s: the secrets form has no %s" % (self.step, field))
        if self.js("document.getElementById('secret-value').type") != "password":
            raise StepFailed("%s: #secret-value is not a password input" % self.step)
        self.shot("ui-secrets.png")
        # The nodes page lists this server (the embedded store has one node) with its address.
        self.go("#/nodes")
        self.wait_for("document.querySelectorAll('#nodes-table tbody tr').length > 0 || (() => {"
                      " const e = document.getElementById('nodes-error'); return e && !e.hidden; })()", "the nodes table")
        nodes_text = self.text("#nodes-list")
        if "127.0.0.1" not in nodes_text:
            raise StepFailed("%s: the nodes page does not list this server: %s" % (self.step, nodes_text))
        # The list on a 360 px wide window: nothing may stick out sideways.
        self.page.send("Emulation.setDeviceMetricsOverride",
                       {"width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": True})
        self.go("#/functions")
        self.functions_loaded()
        overflow = self.js("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        self.shot("ui-mobile.png")
        if overflow and overflow > 1:
            raise StepFailed("%s: at 360 px the page is %d px wider than the window" % (self.step, overflow))
        self.done()
        return self.summary


def run(args):
    os.makedirs(args.screenshots, exist_ok=True)
    with launched_browser(args.timeout) as browser:
        flow = None
        try:
            page = Page.open(browser, 1280)
            flow = Flow(browser, page, args)
            summary = flow.run()
            problems = list(page_problems(browser))
            if problems:
                summary["pageProblems"] = problems
            return summary
        except (BrowserError, Timeout, StepFailed) as error:
            where = flow.step if flow else "start"
            problems = list(page_problems(browser))
            detail = "".join("\n  page: " + p for p in problems[-10:])
            if isinstance(error, BrowserError):
                tail = browser.log_tail()
                if tail:
                    detail += "\n  chromium log (last lines):\n    " + tail.replace("\n", "\n    ")
            if flow is not None:
                try:  # a picture of where it stopped helps more than any message
                    flow.shot("ui-failure.png")
                except Exception:  # noqa: BLE001 - best effort only
                    pass
            message = str(error)
            if not message.startswith(where):
                message = "%s: %s" % (where, message)
            raise type(error)(message + detail)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Drive the Stratus web UI through its main flow in headless Chromium.")
    parser.add_argument("--url", required=True, help="the UI, e.g. http://127.0.0.1:8080/ui/")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="", help="the gateway password (not needed with --auth-off)")
    parser.add_argument("--auth-off", action="store_true", help="the server runs with --no-auth: check the UI opens without a login, then stop")
    parser.add_argument("--screenshots", required=True, help="folder for the ui-*.png screenshots")
    parser.add_argument("--timeout", type=float, default=120, help="seconds for the whole run (default 120)")
    parser.add_argument("--step-timeout", type=float, default=20, help="seconds one wait may take (default 20)")
    parser.add_argument("--deploy-timeout", type=float, default=90, help="seconds the store deploy may take (default 90)")
    parser.add_argument("--function", default="hello", help="the function to invoke, watch and delete (default hello)")
    parser.add_argument("--store-id", default="hello", help="the store entry to deploy (default hello)")
    parser.add_argument("--expect", help="text the invoke output must contain (default: 'Hello! You said: Hi'"
                        " for hello, else 'Hi')")
    parser.add_argument("--skip-store", action="store_true", help="skip the store step (the function must exist)")
    parser.add_argument("--keep-function", action="store_true",
                        help="in step 7 open the confirmation but press Cancel instead of deleting")
    parser.add_argument("--logs-optional", action="store_true",
                        help="do not fail step 6 when the function has written no log line (waits --logs-timeout)")
    parser.add_argument("--logs-timeout", type=float, default=6)
    parser.add_argument("--verbose", action="store_true", help="name each step on stderr as it starts")
    parser.add_argument("--versioned", help="a function with a timer, versions 1 and 2 and alias prod (1=90,2=10) whose page to check")
    parser.add_argument("--upload-wasm", help="a .wasm file to deploy as 'uploaded' through the store's upload form")
    args = parser.parse_args(argv)
    if args.expect is None:
        args.expect = "Hello! You said: Hi" if args.function == "hello" else "Hi"

    # A SIGTERM (e.g. from a test runner's timeout) still ends Chromium and removes the profile.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        summary = run(args)
    except (StepFailed, Timeout) as error:
        sys.stderr.write("%s: FAILED: %s\n" % (PROG, error))
        return 1
    except BrowserError as error:
        sys.stderr.write("%s: browser failure: %s\n" % (PROG, error))
        return 2
    except KeyboardInterrupt:
        return 130
    summary["ok"] = True
    sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
