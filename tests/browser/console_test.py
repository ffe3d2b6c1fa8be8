"""The web console checked as a person would, in headless Chromium.

Run by tests/tests/console_browser.rs, which starts local mode and passes
BASE_URL, the logins, a CSV to upload and where to put screenshots. Every
check compares what the page shows with what the REST API says. Exits
non-zero when a check fails.
"""

import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.request

from playwright.sync_api import expect, sync_playwright

BASE = os.environ["BASE_URL"]
ADMIN = os.environ["ADMIN_EMAIL"]
PASSWORD = os.environ["PASSWORD"]
SALES = os.environ["SALESPERSON_EMAIL"]
SALES_ID = os.environ["SALESPERSON_ID"]
CSV_PATH = os.environ["CSV_PATH"]
TTL = int(os.environ["ACCESS_TTL_SECS"])
SHOTS = os.environ["SCREENSHOTS"]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}

expect.set_options(timeout=20_000)


def api(method, path, who=None, body=None):
    """(status, JSON body) of a REST call, signed in afresh as `who` (an
    email) since access tokens live only seconds in this test."""
    token = login(who) if who else None
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=20) as res:
            text = res.read().decode()
            return res.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return e.code, json.loads(text) if text.startswith("{") else text


def login(email):
    status, body = api("POST", "/api/auth/login", body={"email": email, "password": PASSWORD})
    assert status == 200, body
    return body["access_token"]


def shot(page, name, full_page=True):
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=full_page)


def sign_in(page, email):
    page.goto(BASE + "/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def figure(page, label):
    return page.get_by_role("group", name=label).locator("output")


def percent(x):
    return f"{x * 100:.1f} %"


def check_serving():
    """The page and its files: content types, caching, CSP without inline scripts."""
    with urllib.request.urlopen(BASE + "/", timeout=10) as res:
        html = res.read().decode()
        assert res.headers["Content-Type"].startswith("text/html"), res.headers["Content-Type"]
        assert res.headers["Cache-Control"] == "no-cache", res.headers["Cache-Control"]
        csp = res.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, csp
    assert "<script>" not in html, "no inline script"
    script = next(part.split('"')[0] for part in html.split('<script type="module" src="')[1:])
    with urllib.request.urlopen(BASE + script, timeout=10) as res:
        assert res.headers["Content-Type"].startswith("text/javascript"), res.headers["Content-Type"]
        assert "immutable" in res.headers["Cache-Control"], res.headers["Cache-Control"]


def check_sign_in_and_out(browser):
    page = browser.new_page(viewport=LAPTOP)
    page.goto(BASE + "/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    shot(page, "01-sign-in")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Floor", exact=True)).to_be_visible()
    expect(page.locator("#live")).to_have_text("Live")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.close()


def check_import(page, admin):
    page.get_by_role("link", name="Imports").click()
    expect(page.get_by_role("heading", name="Imports", exact=True)).to_be_visible()
    page.get_by_label("CSV file").set_input_files(CSV_PATH)
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#import-progress-text")).to_contain_text("Done:", timeout=60_000)
    bar = page.get_by_label("Import progress")
    assert bar.evaluate("b => b.value === b.max && b.max > 1"), "the progress bar reached its end"
    status, imports = api("GET", "/api/imports?limit=1", admin)
    assert status == 200, imports
    latest = imports["items"][0]
    for key in ["rows", "imported", "duplicates", "invalid", "do_not_call"]:
        expect(page.locator(f"#count-{key}")).to_have_text(f"{latest[key]:,}")
    assert latest["invalid"] == 2, latest
    expect(page.get_by_role("button", name="Download rejected rows").first).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download rejected rows").first.click()
    rejected = open(download.value.path(), encoding="utf-8").read()
    assert "not-a-number" in rejected, rejected
    shot(page, "04-imports")


def check_admin_pages(page):
    page.get_by_role("link", name="Leads").click()
    expect(page.get_by_role("heading", name="Leads", exact=True)).to_be_visible()
    expect(page.get_by_role("table")).to_be_visible()
    page.get_by_label("Status").select_option("queued")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("table")).to_be_visible()
    shot(page, "05-leads")
    page.get_by_role("link", name="Do not call").click()
    page.get_by_label("Phone number").fill("+998 90 555 44 33")
    page.get_by_label("Reason").fill("Asked on the phone")
    page.get_by_role("button", name="Add number").click()
    expect(page.get_by_role("cell", name="+998905554433", exact=True)).to_be_visible()
    shot(page, "06-do-not-call")
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("cell", name="Sevara Karimova", exact=True)).to_be_visible()
    shot(page, "07-users")
    # An admin creates a user, then resets their password.
    page.get_by_label("Name", exact=True).fill("Temp Seller")
    page.get_by_label("Email", exact=True).fill("temp.seller@demo.ibrat")
    page.get_by_label("Password", exact=True).fill("first-password-1")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("Temp Seller can now sign in as temp.seller@demo.ibrat.")).to_be_visible()
    page.once("dialog", lambda d: d.accept("reset-password-2"))
    page.get_by_role("button", name="Reset password of Temp Seller").click()
    expect(page.get_by_text("Temp Seller's password is reset; give them the new one.")).to_be_visible()
    status, _ = api("POST", "/api/auth/login", body={"email": "temp.seller@demo.ibrat", "password": "reset-password-2"})
    assert status == 200, "the reset password signs in"
    status, _ = api("POST", "/api/auth/login", body={"email": "temp.seller@demo.ibrat", "password": "first-password-1"})
    assert status == 401, "the old password no longer signs in"
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("button", name="Save settings")).to_be_visible()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    shot(page, "09-settings")


def check_salesperson(browser, admin):
    page = browser.new_page(viewport=LAPTOP)
    try:
        salesperson_steps(page, admin)
    except Exception:
        # What the person saw, for the log and target/screenshots/.
        print(page.locator("main").inner_text(), file=sys.stderr)
        shot(page, "failed-salesperson")
        raise
    page.close()


def salesperson_steps(page, admin):
    sign_in(page, SALES)
    expect(page.get_by_role("heading", name="My calls", exact=True)).to_be_visible()
    expect(page.locator("#live")).to_have_text("Live")
    page.get_by_role("button", name="Start session").click()
    # Until the session service exists the page must say so in plain words;
    # once it does, the simulator answers the salesperson's phone.
    line = page.locator("#line-state")
    not_offered = page.get_by_text("Sessions are not available on this server yet").first
    expect(line.filter(has_text="Your line is up").or_(not_offered)).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Ready").click()
    expect(page.locator("#availability-state")).to_have_text("Ready")
    shot(page, "02-salesperson-ready")
    name = page.locator("#lead-name")
    expect(name).to_be_visible(timeout=60_000)
    shown = name.inner_text()
    shot(page, "03-salesperson-screen-pop")
    save = page.get_by_role("button", name="Save outcome")
    expect(save).to_be_enabled()
    # The outcome is saved once the call has ended (the API refuses earlier).
    expect(page.locator("#screen-pop")).to_contain_text("Ended", timeout=30_000)
    # Away first (allowed in wrap-up): saving the outcome ends wrap-up, and
    # a Ready salesperson would get the next call at once.
    expect(page.locator("#availability-state")).to_have_text("Wrap-up")
    page.get_by_role("button", name="Away").click()
    expect(page.locator("#availability-state")).to_contain_text("Away")
    page.get_by_label("Outcome", exact=True).select_option("interested")
    page.get_by_label("Notes").fill("Wants the premium plan")
    save.click()
    expect(page.get_by_text(f"Saved: Interested for {shown}.")).to_be_visible()
    shot(page, "03b-salesperson-saved")

    status, calls = api("GET", f"/api/calls?salesperson_id={SALES_ID}&limit=100", admin)
    assert status == 200, calls
    saved = [c for c in calls["items"] if c.get("disposition") and c["disposition"]["outcome"] == "interested"]
    assert saved, f"the outcome is in the API: {calls}"
    status, lead = api("GET", f"/api/leads/{saved[0]['lead_id']}", admin)
    assert status == 200, lead
    assert lead["name"] == shown, f"the screen pop showed {shown!r}, the call's lead is {lead['name']!r}"
    assert saved[0]["notes"] == "Wants the premium plan", saved[0]

    # Admin pages: the API refuses and the page says why.
    status, body = api("GET", "/api/leads/stats/summary", SALES)
    assert status == 403, body
    page.goto(BASE + "/#/floor")
    expect(page.get_by_role("alert")).to_have_text("Only admins can open Floor. The server refused: admins only.")
    shot(page, "10-salesperson-refused")

    page.set_viewport_size(PHONE)
    page.goto(BASE + "/#/agent")
    expect(page.get_by_role("heading", name="My calls", exact=True)).to_be_visible()
    expect(page.locator("#line-state")).not_to_have_text("Checking your line…")
    shot(page, "11-salesperson-phone")


def check_floor(page, admin):
    page.get_by_role("link", name="Floor").click()
    expect(page.get_by_role("heading", name="Floor", exact=True)).to_be_visible()
    # Calls may still be finishing: the figures must settle on the route's.
    deadline = time.time() + 30
    while True:
        status, s = api("GET", "/api/leads/stats/summary", admin)
        assert status == 200, s
        status, ready = api("GET", "/api/users?role=salesperson&availability=available", admin)
        want = {
            "Abandonment rate": percent(s["abandonment_rate"]),
            "Connect rate": percent(s["connect_rate"]),
            "Calls in progress": f"{s['by_status'].get('in_call', 0):,}",
            "Calls today": f"{s['calls_today']:,}",
            "Salespeople ready": str(len(ready["items"])),
        }
        page.reload()
        expect(figure(page, "Abandonment rate")).not_to_have_text("…")
        expect(figure(page, "Salespeople ready")).not_to_have_text("…")
        got = {label: figure(page, label).inner_text() for label in want}
        if got == want:
            break
        if time.time() > deadline:
            raise AssertionError(f"wallboard {got} != statistics {want}")
        time.sleep(1)
    assert s["calls_today"] > 0, "calls were made"
    expect(page.get_by_role("img", name="Calls, connects and abandons by hour today")).to_be_visible()
    shot(page, "08-floor")
    page.get_by_role("link", name="Calls").click()
    expect(page.get_by_role("table")).to_be_visible()
    shot(page, "08b-calls")


def check_expired(browser):
    page = browser.new_page(viewport=LAPTOP)
    sign_in(page, ADMIN)
    expect(page.get_by_role("heading", name="Floor", exact=True)).to_be_visible()
    # The refresh token is revoked behind the page's back; once the access
    # token expires nothing can renew it.
    page.evaluate("""async () => {
        const refresh = sessionStorage.getItem('ibrat.refresh');
        await fetch('/api/auth/logout', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                         body: JSON.stringify({refresh_token: refresh})});
    }""")
    time.sleep(TTL + 1)
    page.get_by_role("link", name="Leads").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Your session has expired. Please sign in again.")).to_be_visible()
    shot(page, "12-expired")
    page.close()


def main():
    os.makedirs(SHOTS, exist_ok=True)
    failures = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        admin = ADMIN

        def run(name, fn, *args):
            print(f"browser check: {name}", flush=True)
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - every failure is reported
                failures.append(name)
                traceback.print_exc()

        run("the page is served safely", check_serving)
        run("sign in and out", check_sign_in_and_out, browser)
        admin_page = browser.new_page(viewport=LAPTOP)
        admin_page.on("console", lambda m: print(f"  admin console: {m.text}") if m.type == "error" else None)
        sign_in(admin_page, ADMIN)
        run("an admin uploads a CSV", check_import, admin_page, admin)
        run("the admin pages", check_admin_pages, admin_page)
        run("a salesperson takes a call", check_salesperson, browser, admin)
        run("the wallboard agrees with the statistics", check_floor, admin_page, admin)
        run("an expired session returns to sign-in", check_expired, browser)
        browser.close()
    if failures:
        print(f"FAILED: {', '.join(failures)}", file=sys.stderr)
        sys.exit(1)
    print("every browser check passed")


if __name__ == "__main__":
    main()
