// A dispatcher's console whose live updates stall while the stream looks
// open (cmd/fieldgate's TestConsoleNoticesAStalledEventStream: the
// browser talks to fieldgate through the test's proxy, which freezes the
// event stream's connection when this script prints the step "freeze",
// answering "frozen" on stdin; fieldgate sends a heartbeat every second).
// Input: environment FG_BASE (the proxy), FG_API (fieldgate itself, for
// the reporter's app), FG_REPORTER_TOKEN, FG_CHROMIUM. Output: one JSON
// line per step on stdout.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const base = process.env.FG_BASE;
const out = (o) => console.log(JSON.stringify(o));
const fail = (msg) => { out({ step: "fail", error: msg }); process.exit(1); };
const stdin = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => stdin.once("line", resolve));

// fileReport files a report n km east of the others (no duplicate of them).
async function fileReport(text, n) {
  const form = new FormData();
  form.set("to", "tiefbau"); form.set("text", text); form.set("lat", "51.0412"); form.set("lon", String(7.579 + 0.015 * n));
  const r = await fetch(process.env.FG_API + "/api/v1/reports", { method: "POST", body: form, headers: { Authorization: "Bearer " + process.env.FG_REPORTER_TOKEN } });
  if (r.status !== 202) fail("POST /api/v1/reports: " + r.status + " " + (await r.text()));
  return (await r.json()).case_number;
}
const row = (c) => `#list li[data-case="${c}"]`;

const browser = await chromium.launch({
  executablePath: process.env.FG_CHROMIUM || "/usr/bin/chromium-headless-shell",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "de-DE" });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => out({ step: "pageerror", error: String(e) }));
  await page.goto(base + "/console/");
  await page.click("#sso");
  await page.waitForSelector("#app:not([hidden])", { timeout: 15000 });
  await page.waitForSelector("#live.on", { timeout: 15000 });
  // A case filed now shows up live: the stream works before it stalls.
  const before = await fileReport("Vor dem Stillstand", 0);
  await page.waitForSelector(row(before), { timeout: 10000 });
  out({ step: "signed-in", case: before });

  out({ step: "freeze" });
  if ((await nextLine()) !== "frozen") fail("the test did not freeze the stream");
  // The page sees whether it ever showed the stream as not live.
  await page.evaluate(() => {
    window.fgWentOff = false;
    new MutationObserver(() => { if (!document.querySelector("#live").classList.contains("on")) window.fgWentOff = true; })
      .observe(document.querySelector("#live"), { attributes: true, childList: true, characterData: true, subtree: true });
  });
  const t0 = Date.now();
  const during = await fileReport("Während des Stillstands", 1);
  try {
    await page.waitForSelector(row(during), { timeout: 20000 });
  } catch (_) {
    const st = await page.evaluate(() => ({ stalls: window.fg.stalls || 0, reloads: window.fg.resyncs || 0 }));
    fail(`case ${during}, filed while the stream stalled, not in the list after 20 s (live shown as ${await page.textContent("#live")}, ${JSON.stringify(st)})`);
  }
  const seen = { step: "seen", case: during, ms: Date.now() - t0, ...(await page.evaluate(() => ({ wentOff: window.fgWentOff, stalls: window.fg.stalls || 0 }))) };
  out(seen);
  await page.waitForSelector("#live.on", { timeout: 10000 });
  // And the new stream is live again: a case filed now arrives without a reload.
  const t1 = Date.now();
  const after = await fileReport("Nach dem Stillstand", 2);
  await page.waitForSelector(row(after), { timeout: 10000 });
  out({ step: "live-again", case: after, ms: Date.now() - t1, stalls: await page.evaluate(() => window.fg.stalls || 0) });
  out({ step: "done" });
} catch (e) {
  fail(String(e?.stack || e));
} finally {
  await browser.close();
  stdin.close();
}
