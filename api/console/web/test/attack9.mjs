// Uses the real console in headless Chromium as a dispatcher and as an
// attacker would (cmd/fieldgate's TestConsoleAttack9InBrowser runs
// fieldgate, the OIDC provider and the services, and restarts the server
// when this script prints the step "restart", answering on stdin).
// Input: environment FG_BASE, FG_REPORTER_TOKEN, FG_DISPATCHER_TOKEN (a
// second dispatcher, acting through the API), FG_CHROMIUM, FG_DISTRICT
// (a district name written as HTML in the rules' file). Output: one JSON
// line per step on stdout.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const base = process.env.FG_BASE;
const out = (o) => console.log(JSON.stringify(o));
const fail = (msg) => { out({ step: "fail", error: msg }); process.exit(1); };
// A finding that does not stop the later steps: all are reported, the
// script fails at the end.
const problems = [];
const problem = (msg) => { problems.push(msg); out({ step: "problem", error: msg }); };
const stdin = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => stdin.once("line", resolve));

async function apiAs(token, method, path, body) {
  const r = await fetch(base + path, { method, headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" }, body: body ? JSON.stringify(body) : undefined });
  return { status: r.status, data: await r.json().catch(() => ({})) };
}
async function fileReport(to, text, lat, lon) {
  const form = new FormData();
  form.set("to", to); form.set("text", text); form.set("lat", String(lat)); form.set("lon", String(lon));
  const r = await fetch(base + "/api/v1/reports", { method: "POST", body: form, headers: { Authorization: "Bearer " + process.env.FG_REPORTER_TOKEN } });
  if (r.status !== 202) fail("POST /api/v1/reports: " + r.status + " " + (await r.text()));
  return (await r.json()).case_number;
}
const row = (c) => `#list li[data-case="${c}"]`;
// until waits for cond (a function of this script's state), at most 10 s.
async function until(cond, what) {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((res) => setTimeout(res, 50));
  if (!cond()) fail("waited 10 s in vain for " + what);
}

const browser = await chromium.launch({
  executablePath: process.env.FG_CHROMIUM || "/usr/bin/chromium-headless-shell",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  // The dispatcher's laptop is set to New York time; the town is in Europe/Berlin.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "de-DE", timezoneId: "America/New_York" });
  const page = await ctx.newPage();
  page.on("dialog", (d) => d.accept());
  page.on("pageerror", (e) => out({ step: "pageerror", error: String(e) }));
  await page.goto(base + "/console/");
  await page.click("#sso");
  await page.waitForSelector("#app:not([hidden])", { timeout: 15000 });
  await page.waitForSelector("#live.on", { timeout: 15000 });
  const cookie = (await ctx.cookies(base)).find((c) => c.name.endsWith("fieldgate_session"));
  if (!cookie || !cookie.httpOnly || cookie.sameSite !== "Lax" || cookie.path !== "/") fail("session cookie " + JSON.stringify({ ...cookie, value: undefined }));
  out({ step: "signed-in", who: await page.textContent("#who") });

  // 1. HTML from a field worker (report text) and from the rules' file
  // (a district name, shown as a Leaflet tooltip, which takes HTML) stays text.
  const evil = '<img src=x id=fgxss2> Gully <b id="fgxss3">verstopft</b>';
  const c1 = await fileReport("tiefbau", evil, 51.0412, 7.5790);
  await page.waitForSelector(row(c1), { timeout: 10000 });
  await page.click(row(c1));
  await page.waitForFunction((c) => document.querySelector("#detail h2")?.textContent.startsWith(c), c1, { timeout: 10000 });
  await page.waitForFunction(() => document.querySelectorAll(".district-label").length > 3, null, { timeout: 10000 });
  const x = await page.evaluate(([c, d]) => ({
    injected: ["fgxss", "fgxss2", "fgxss3"].filter((id) => document.getElementById(id)),
    label: [...document.querySelectorAll(".district-label")].map((e) => e.textContent).find((s) => s.startsWith("Hafen")),
    option: [...document.querySelectorAll("#f-district option")].some((o) => o.value === d && o.textContent === d),
    row: document.querySelector(`#list li[data-case="${c}"] .text`).textContent,
    detail: document.querySelector("#detail .text").textContent,
    // The row's markup as the parser built it: a button and badges, nothing else.
    markup: [...new Set([...document.querySelectorAll("#list li .line1 > *")].map((e) => e.tagName + "." + e.className.split(" ")[0]))].sort(),
  }), [c1, process.env.FG_DISTRICT]);
  if (x.injected.length || x.label !== process.env.FG_DISTRICT || !x.option || x.row !== evil || x.detail !== evil ||
    x.markup.some((m) => !["BUTTON.case", "SPAN.badge"].includes(m))) problem("HTML was taken as markup: " + JSON.stringify(x));
  out({ step: "xss", ...x });

  // 2. Times in the town's zone, also on both nights of a DST change.
  const it = await page.evaluate((c) => window.fg.state.items.get(c), c1);
  const want = new Intl.DateTimeFormat("de-DE", { dateStyle: "short", timeStyle: "short", timeZone: "Europe/Berlin" }).format(new Date(it.created_at));
  const meta = await page.textContent(row(c1) + " .meta");
  const dst = await page.evaluate(() => ["2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"].map((window.fg.fmtTime || (() => "no fmtTime"))));
  const wantDST = ["29.03.26, 01:30", "29.03.26, 03:30", "25.10.26, 02:30", "25.10.26, 02:30"];
  if (!meta.includes(want) || JSON.stringify(dst) !== JSON.stringify(wantDST)) problem(`times: row "${meta}" (want ${want}), DST ${JSON.stringify(dst)} (want ${JSON.stringify(wantDST)})`);
  out({ step: "time-zone", row: meta, dst });

  // A closed case is in the list too (status "all"), for the contrast check.
  const cR = await fileReport("info", "Sperrmüll abgeholt", 51.0371, 7.5655);
  for (let i = 0; i < 100; i++) {
    const r = await apiAs(process.env.FG_DISPATCHER_TOKEN, "POST", `/api/v1/incidents/${cR}/resolve`);
    if (r.status === 200) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  await page.selectOption("#f-status", "all");
  await page.waitForFunction((c) => document.querySelector(`#list li.closed[data-case="${c}"]`), cR, { timeout: 10000 })
    .catch(() => problem("the resolved case is not in the list of all cases"));

  // 3. Every field and button has a name for screen readers (a label,
  // aria-label or words, not a placeholder or a "✕"), and every badge
  // has a contrast of at least 4.5:1 (WCAG 2.1 AA, 1.4.3, small text).
  const a11y = await page.evaluate(() => {
    const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
    const words = (s) => /[\p{L}\p{N}]/u.test(s || "");
    const name = (e) => e.getAttribute("aria-label") || (e.getAttribute("aria-labelledby") || "").split(" ").map((id) => document.getElementById(id)?.textContent || "").join(" ").trim() ||
      [...(e.labels || [])].map((l) => l.textContent).join(" ").trim() || (e.tagName === "BUTTON" ? e.textContent.trim() : "") || e.title;
    const unnamed = [...document.querySelectorAll("#app input:not([type=hidden]), #app select, #app button, #app textarea")]
      .filter(shown).filter((e) => !words(name(e))).map((e) => e.id || e.outerHTML.slice(0, 60));
    const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
    const bg = (e) => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0) return c.slice(0, 3); } return [255, 255, 255]; };
    // The text's colour as painted: blended with the background by the opacity of it and its ancestors.
    const painted = (e) => {
      let a = 1; for (let p = e; p; p = p.parentElement) a *= Number(getComputedStyle(p).opacity);
      const fg = rgb(getComputedStyle(e).color), b = bg(e);
      return [fg.slice(0, 3).map((c, i) => c * a + b[i] * (1 - a)), b];
    };
    const low = [...document.querySelectorAll(".badge, #list .case, #list .text, #list .meta")].filter(shown).map((e) => {
      const [fg, back] = painted(e), a = lum(fg), b = lum(back);
      return [e.className, e.textContent, Math.round(((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)) * 100) / 100];
    }).filter(([, , r]) => r < 4.5);
    return { unnamed, low };
  });
  if (a11y.unnamed.length || a11y.low.length) problem("accessibility: " + JSON.stringify(a11y));
  out({ step: "labels" });

  // 3b. Keyboard only: from the search field, Tab reaches a case in the
  // list, Enter opens it with the focus in the view, Esc closes it and
  // gives the focus back to the row; a live update of the list keeps it.
  await page.keyboard.press("Escape");
  await page.focus("#f-q");
  let reached = null;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement?.matches("#list li *") ? document.activeElement.closest("li").dataset.case : null);
    if (reached && !(await page.evaluate(() => document.activeElement.matches("button.case")))) reached = null; // its checkbox: go on
  }
  if (!reached) problem("Tab never reaches a case in the list (only its checkbox)");
  else {
    await page.keyboard.press("Enter");
    await page.waitForFunction((c) => document.querySelector("#detail:not([hidden]) h2")?.textContent.startsWith(c) && document.activeElement === document.querySelector("#detail h2"), reached, { timeout: 5000 })
      .catch(() => problem("Enter on a case did not open it with the focus in the view"));
    await page.keyboard.press("Escape");
    await page.waitForSelector("#detail", { state: "hidden", timeout: 5000 }).catch(() => problem("Esc did not close the incident view"));
    const back = await page.evaluate(() => document.activeElement?.closest("li")?.dataset.case);
    if (back !== reached) problem(`after Esc the focus is on ${back}, not on the row of ${reached}`);
    const cK = await fileReport("info", "Laterne defekt", 51.0290, 7.6080);
    await page.waitForSelector(row(cK), { timeout: 10000 });
    const still = await page.evaluate(() => document.activeElement?.closest("li")?.dataset.case);
    if (still !== reached) problem(`a live update moved the focus from the row of ${reached} to ${still}`);
  }
  out({ step: "keyboard", case: reached });
  await page.click(row(c1) + " .text");
  await page.waitForSelector("#detail:not([hidden]) #act-reply-text", { timeout: 10000 });

  // 3c. A slow network: the list's answers take 2.5 s. A case filed while
  // the list loads is not lost when the (older) answer arrives, and of two
  // loads (status "open", then at once "all") the older answer does not
  // win: the closed case stays in the list of all cases.
  let fetched = 0, delivered = 0;
  await page.route(/\/api\/v1\/incidents\?.*status=open/, async (route) => {
    const r = await route.fetch(); fetched++;
    await new Promise((res) => setTimeout(res, 2500));
    await route.fulfill({ response: r }); delivered++;
  });
  await page.selectOption("#f-status", "open");
  await until(() => fetched >= 1, "the list request");
  const cS = await fileReport("info", "Ampel blinkt nur gelb", 51.0335, 7.6105);
  await until(() => delivered >= 1, "the delayed list answer");
  await page.waitForSelector(row(cS), { timeout: 3000 }).catch(() => problem(`case ${cS}, filed while the list loaded, is missing once it loaded`));
  await page.selectOption("#f-status", "open");
  await page.selectOption("#f-status", "all");
  await until(() => delivered >= 2, "the second delayed list answer");
  await page.waitForTimeout(300);
  if (!(await page.$(`#list li.closed[data-case="${cR}"]`))) problem(`an older answer (open cases) replaced the list of all cases: ${cR} is missing`);
  await page.unroute(/\/api\/v1\/incidents\?.*status=open/);
  out({ step: "slow-network", case: cS });

  // 4. A colleague takes the open case while the dispatcher types a reply:
  // the view shows the change and keeps the text and the focus.
  const typed = "Wir kümmern uns heute noch darum";
  await page.fill("#act-reply-text", typed);
  await page.focus("#act-reply-text");
  const took = await apiAs(process.env.FG_DISPATCHER_TOKEN, "POST", `/api/v1/incidents/${c1}/take`);
  if (took.status !== 200) fail("colleague's take: " + JSON.stringify(took));
  await page.waitForFunction(() => document.querySelector("#detail").textContent.includes("übernommen von token:kollegin"), null, { timeout: 10000 })
    .catch(async () => fail("the colleague's take did not show: " + (await page.textContent("#detail")).slice(0, 500)));
  const kept = await page.evaluate(() => ({ value: document.querySelector("#act-reply-text")?.value, focus: document.activeElement?.id }));
  if (kept.value !== typed || kept.focus !== "act-reply-text") problem("a live change of the open case lost the typed reply: " + JSON.stringify(kept));
  out({ step: "live-keeps-input", ...kept });

  // 5. The session ends in another tab (signed out there). Sending the
  // reply says so in German, keeps the text; after signing in again (in
  // that tab) the same button sends it.
  const other = await ctx.newPage();
  await other.goto(base + "/console/");
  await other.waitForSelector("#app:not([hidden])", { timeout: 10000 });
  await other.click("#logout");
  await other.waitForSelector("#login:not([hidden])", { timeout: 10000 });
  await page.click("#act-reply");
  await page.waitForSelector("#expired:not([hidden])", { timeout: 5000 }).catch(async () =>
    problem("no notice of the ended session: toast " + JSON.stringify(await page.textContent("#toast"))));
  const exp = await page.evaluate(() => ({ text: document.querySelector("#expired")?.textContent, value: document.querySelector("#act-reply-text")?.value }));
  if (!exp.text?.includes("Anmeldung ist abgelaufen") || exp.value !== typed) problem("ended session: " + JSON.stringify(exp));
  out({ step: "expired", ...exp });
  await other.click("#sso");
  await other.waitForSelector("#app:not([hidden])", { timeout: 15000 });
  if (await page.$("#act-reply-text")) await page.fill("#act-reply-text", typed); // (an older page lost it)
  await page.click("#act-reply");
  await page.waitForFunction(() => document.querySelector("#detail .timeline")?.textContent.includes("Antwort an die meldende Person"), null, { timeout: 10000 })
    .catch(async () => problem("the reply after signing in again did not go out: toast " + JSON.stringify(await page.textContent("#toast"))));
  if (await page.$("#expired:not([hidden])")) problem("the notice stayed after signing in again");
  await other.close();
  out({ step: "relogin" });

  // 6. The server restarts while the stream's reconnects fail with HTTP
  // errors (a proxy's 502); a case filed meanwhile appears once the
  // stream is back, without a reload, and nothing twice.
  await page.waitForSelector("#live.on", { timeout: 15000 }).catch(() => problem("the stream did not come back after signing in again"));
  await page.route("**/api/v1/events", (route) => route.fulfill({ status: 502, contentType: "text/plain", body: "Bad Gateway" }));
  out({ step: "restart" });
  if ((await nextLine()) !== "restarted") fail("the server was not restarted");
  const c3 = await fileReport("info", "Baum auf dem Radweg, gemeldet während der Neustart lief", 51.0302, 7.5712);
  await page.waitForFunction(() => !document.querySelector("#live").classList.contains("on"), null, { timeout: 10000 });
  await page.unroute("**/api/v1/events");
  await page.waitForSelector(row(c3), { timeout: 15000 }).catch(() => fail(`case ${c3}, filed while the stream was down, never appeared`));
  await page.waitForSelector("#live.on", { timeout: 10000 });
  const cases = await page.evaluate(() => window.fg.visibleCases());
  if (new Set(cases).size !== cases.length) fail("cases listed twice: " + cases.join(", "));
  out({ step: "resynced", case: c3 });

  // 6a. A bulk reassignment of a closed and an open case: the open one
  // moves; the message names the closed one and why, and it stays selected.
  await page.click("#detail .close");
  for (const c of [cR, c1]) await page.check(row(c) + " input[type=checkbox]");
  await page.selectOption("#bulk-team", "ordnungsamt");
  await page.click("#bulk-reassign");
  await page.waitForFunction((c) => window.fg.state.items.get(c)?.team === "ordnungsamt", c1, { timeout: 10000 }).catch(() => problem("bulk reassign did not move the open case"));
  await page.waitForSelector("#toast.bad:not([hidden])", { timeout: 5000 }).catch(() => {});
  const bulkMsg = await page.textContent("#toast");
  const stillSelected = await page.evaluate((c) => document.querySelector(`#list li[data-case="${c}"] input[type=checkbox]`)?.checked, cR);
  if (!bulkMsg.includes("1/2") || !bulkMsg.includes(cR + ":") || !stillSelected) problem(`bulk failure: message ${JSON.stringify(bulkMsg)}, ${cR} still selected: ${stillSelected}`);
  out({ step: "bulk-failure", message: bulkMsg });

  // 6b. In English the page shows no German text of its own (the
  // catalogue's German texts; not what users wrote, such as the names of
  // Textbausteine in their list, nor a server message toasted before the
  // switch).
  await page.click("header .lang[data-lang=en]");
  await page.click(row(c1) + " .text");
  await page.waitForFunction(() => document.querySelector("#detail:not([hidden]) .timeline")?.textContent.includes("report received"), null, { timeout: 10000 })
    .catch(() => problem("the English incident view did not show"));
  const leftovers = await page.evaluate(() => {
    const de = window.FG_TEXTS.de, en = window.FG_TEXTS.en;
    const app = document.querySelector("#app").cloneNode(true);
    app.querySelectorAll("#toast, #act-template").forEach((e) => e.remove());
    document.body.append(app); const shown = app.innerText; app.remove();
    return Object.keys(de).filter((k) => !de[k].includes("{") && de[k] !== en[k] && de[k].length >= 4 && shown.includes(de[k])).map((k) => {
      const where = [...document.querySelectorAll("#app *")].filter((e) => e.children.length === 0 && e.textContent.includes(de[k]) && e.getClientRects().length)
        .map((e) => e.tagName + (e.id ? "#" + e.id : "") + "." + e.className + " in " + (e.closest("[id]")?.id || ""));
      return k + ": " + de[k] + " (" + where.join("; ") + ")";
    });
  });
  if (leftovers.length) problem("German texts in the English page: " + leftovers.join(", ") + " toast: " + (await page.textContent("#toast")));
  await page.click("header .lang[data-lang=de]");
  out({ step: "english", leftovers });

  // 7. The page is opened while the server cannot answer (a proxy's 502):
  // it says so in German, not with the browser's English error, and
  // comes up by itself once the server answers.
  const fresh = await ctx.newPage();
  let refused = 0;
  await fresh.route("**/console/session", (route) => (refused++ < 1 ? route.fulfill({ status: 502, contentType: "text/html", body: "<h1>502 Bad Gateway</h1>" }) : route.continue()));
  await fresh.goto(base + "/console/");
  const msg = await fresh.waitForSelector(".error", { timeout: 5000 }).then((e) => e.textContent()).catch(() => "");
  if (!msg.includes("nicht erreichbar")) problem("page opened during a 502: " + JSON.stringify(msg));
  await fresh.waitForSelector("#app:not([hidden])", { timeout: 15000 }).catch(() => problem("the page opened during a 502 did not come up by itself"));
  await fresh.close();
  out({ step: "unreachable", message: msg });
  if (problems.length) fail(problems.length + " problems: " + problems.join(" | "));
  out({ step: "done" });
} catch (e) {
  fail(String(e && e.stack || e));
} finally {
  await browser.close();
  stdin.close();
}
