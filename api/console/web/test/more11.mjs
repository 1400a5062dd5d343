// A dispatcher in a large town switches the list to "Alle" (cmd/fieldgate's
// TestConsoleSaysOlderCasesAreNotLoaded: more than 20,000 cases). The
// console loads the newest 20,000 and must say that older ones are not
// loaded, offer to search all cases for a filter (an old case's number)
// and to load older ones, in German and English; it measures each step.
// Input: FG_BASE, FG_TOKEN (a dispatcher API token), FG_TOTAL (cases for
// "all"), FG_OLD_CASE (the oldest case's number), FG_CHROMIUM. Output: one
// JSON line per step on stdout.
import { chromium } from "playwright-core";

const base = process.env.FG_BASE, total = Number(process.env.FG_TOTAL), oldCase = process.env.FG_OLD_CASE;
const out = (o) => console.log(JSON.stringify(o));
const fail = (msg) => { out({ step: "fail", error: msg }); process.exit(1); };
const browser = await chromium.launch({
  executablePath: process.env.FG_CHROMIUM || "/usr/bin/chromium-headless-shell",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "de-DE" })).newPage();
  page.on("pageerror", (e) => out({ step: "pageerror", error: String(e) }));
  await page.goto(base + "/console/?lang=de");
  await page.fill("#token-input", process.env.FG_TOKEN);
  await page.click("#token-login");
  await page.waitForSelector("#app:not([hidden])");
  await page.waitForFunction(() => (window.fg.renders || 0) >= 1, null, { timeout: 30000 });

  // "Alle": the newest 20,000 are loaded, and the page says so.
  let t0 = Date.now();
  await page.selectOption("#f-status", "all");
  await page.waitForFunction(() => window.fg.state.items.size >= 20000, null, { timeout: 120000, polling: 50 });
  const loaded = await page.evaluate(() => ({ count: document.querySelector("#count").textContent,
    rest: document.querySelector("#rows-rest").hidden ? "" : document.querySelector("#rows-rest").innerText, page_ms: (window.fg.pageMs || []).splice(0), items: window.fg.state.items.size, rows: document.querySelectorAll("#list li").length,
    render_ms: Math.round(window.fg.lastRenderMs), split: window.fg.lastSplit }));
  const notice = await page.evaluate(() => ({ shown: !document.querySelector("#more").hidden, text: document.querySelector("#more").innerText,
    load: !document.querySelector("#more-load").hidden, search: !document.querySelector("#more-search").hidden }));
  out({ step: "all", ms: Date.now() - t0, ...loaded, notice });
  if (loaded.items !== 20000) fail(`"Alle" loaded ${loaded.items} cases, want the newest 20,000 of ${total}`);
  if (loaded.rows !== 2000) fail(`${loaded.rows} rows drawn, want the first 2,000`);
  if (!notice.shown || !notice.text.includes("20.000") || !/ältere fehlen/.test(notice.text) || !notice.load)
    fail(`no notice that older cases are not loaded: ${JSON.stringify(notice)}`);
  if (notice.search) fail("'search all' offered without a filter");

  // English.
  await page.click('#app .lang[data-lang="en"]');
  const en = await page.evaluate(() => document.querySelector("#more").innerText);
  out({ step: "english", text: en });
  if (!en.includes("Only the newest 20,000 cases") || !en.includes("Load older (+10,000)")) fail("English notice: " + en);
  await page.click('#app .lang[data-lang="de"]');

  // The oldest case's number: not among the loaded ones; the filter
  // offers to search all cases, which finds it.
  await page.fill("#f-q", oldCase);
  await page.waitForFunction(() => !document.querySelector("#more-search").hidden);
  const before = await page.evaluate(() => document.querySelectorAll("#list li").length);
  t0 = Date.now();
  await page.click("#more-search");
  await page.waitForSelector(`#list li[data-case="${oldCase}"]`, { timeout: 30000 });
  const searched = await page.evaluate(() => document.querySelector("#more-searched").innerText);
  out({ step: "searched", ms: Date.now() - t0, rows_before: before, text: searched });
  if (before !== 0) fail(`the oldest case was listed before searching all (${before} rows)`);
  if (!searched.includes("1 Treffer")) fail("search result not said: " + searched);
  await page.fill("#f-q", "");

  // "Ältere laden": the rest, and the notice goes.
  t0 = Date.now();
  await page.click("#more-load");
  await page.waitForFunction((n) => window.fg.state.items.size >= n, total, { timeout: 120000, polling: 50 });
  await page.waitForFunction(() => document.querySelector("#more").hidden, null, { timeout: 10000 });
  const all = await page.evaluate(() => ({ count: document.querySelector("#count").textContent,
    rest: document.querySelector("#rows-rest").hidden ? "" : document.querySelector("#rows-rest").innerText, page_ms: (window.fg.pageMs || []).splice(0), items: window.fg.state.items.size, rows: document.querySelectorAll("#list li").length,
    render_ms: Math.round(window.fg.lastRenderMs), split: window.fg.lastSplit }));
  out({ step: "older", ms: Date.now() - t0, ...all });
  if (all.items !== total || all.rows !== 2000) fail(`after loading older cases ${all.items} cases and ${all.rows} rows, want ${total} and 2,000`);
  if (!all.count.includes(total.toLocaleString("de-DE")) || !all.rest.includes((total - 2000).toLocaleString("de-DE") + " weitere Fälle"))
    fail(`the list does not say how many cases it has and does not show: ${all.count} / ${all.rest}`);
  // Two thousand more rows on request.
  await page.click("#rows-more");
  const more = await page.evaluate(() => document.querySelectorAll("#list li").length);
  out({ step: "rows", rows: more });
  if (more !== 4000) fail(`"show more" drew ${more} rows, want 4,000`);

  // A filter change over all of them, input to painted frame.
  const filter = await page.evaluate(async () => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const el = document.getElementById("f-team"); const t = performance.now();
    el.value = "gruenflaechen"; el.dispatchEvent(new Event("change")); await frame();
    const ms = Math.round(performance.now() - t), shown = document.querySelectorAll("#list li").length, split = window.fg.lastSplit;
    const t2 = performance.now();
    el.value = ""; el.dispatchEvent(new Event("change")); await frame();
    return { ms, shown, split, cleared_ms: Math.round(performance.now() - t2), cleared_split: window.fg.lastSplit };
  });
  out({ step: "filter", ...filter });
  out({ step: "done" });
} catch (e) {
  fail(String(e?.stack || e));
} finally {
  await browser.close();
}
