// Drives the real console in headless Chromium (Debian's
// chromium-headless-shell, through playwright-core; no browser is
// downloaded). Started by cmd/fieldgate's TestConsoleInBrowser, which
// runs fieldgate, the OIDC provider and Prosody and checks the XMPP side.
// Input: environment FG_BASE, FG_REPORTER_TOKEN, FG_SHOTS (screenshot dir,
// optional), FG_CHROMIUM, FG_PHOTO (a JPEG larger than the 320 px
// thumbnail), FG_S3 (origin of the presigned links, the one other origin
// the page may load from). Output: one JSON line per step on stdout.
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const base = process.env.FG_BASE;
const reporter = process.env.FG_REPORTER_TOKEN;
const shots = process.env.FG_SHOTS || "";
const out = (o) => console.log(JSON.stringify(o));
const fail = (msg) => { out({ step: "fail", error: msg }); process.exit(1); };

async function fileReport(to, text, lat, lon, urgent, photo) {
  const form = new FormData();
  form.set("to", to); form.set("text", text); form.set("lat", String(lat)); form.set("lon", String(lon));
  if (urgent) form.set("urgent", "true");
  if (photo instanceof Blob) form.set("photo", photo, "anhang");
  else if (photo) form.set("photo", new Blob([readFileSync(photo)], { type: "image/jpeg" }), "foto.jpg");
  const r = await fetch(base + "/api/v1/reports", { method: "POST", body: form, headers: { Authorization: "Bearer " + reporter } });
  if (r.status !== 202) fail("POST /api/v1/reports: " + r.status + " " + (await r.text()));
  return (await r.json()).case_number;
}

async function signIn(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "de-DE" });
  const page = await ctx.newPage();
  page.on("dialog", (d) => d.accept());
  page.on("pageerror", (e) => out({ step: "pageerror", error: String(e) }));
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") out({ step: "console", text: m.text() }); });
  await page.goto(base + "/console/");
  await page.click("#sso");
  try {
    await page.waitForSelector("#app:not([hidden])", { timeout: 15000 });
  } catch (e) {
    fail("sign-in did not reach the console: at " + page.url() + ": " + (await page.textContent("body")).slice(0, 300));
  }
  try {
    await page.waitForSelector("#live.on", { timeout: 15000 });
  } catch (e) {
    fail("the event stream did not connect: " + (await page.textContent("body")).slice(0, 400));
  }
  return { ctx, page };
}

const browser = await chromium.launch({
  executablePath: process.env.FG_CHROMIUM || "/usr/bin/chromium-headless-shell",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
// No request may leave the machine: everything but this origin is refused and reported.
const offsite = [];
try {
  // 1. The dispatcher signs in through the OIDC provider.
  const { ctx, page } = await signIn(browser);
  await ctx.route((url) => !url.href.startsWith(base) && !url.href.startsWith(process.env.FG_ISSUER || "-") && !url.href.startsWith(process.env.FG_S3 || "-") &&
    !url.protocol.startsWith("data") && !url.protocol.startsWith("blob"),
    (route) => { offsite.push(route.request().url()); route.abort(); });
  const who = await page.textContent("#who");
  out({ step: "signed-in", who });

  // 2. A new report appears live on the map and in the list within 2 s of its POST.
  const t0 = Date.now();
  const first = await fileReport("tiefbau", "Schlagloch vor Hausnummer 12, etwa 30 cm tief", 51.0412, 7.5790, true);
  await page.waitForFunction((c) => window.fg.hasMarker(c) && document.querySelector(`#list li[data-case="${c}"]`), first, { timeout: 10000 });
  const liveMs = Date.now() - t0;
  out({ step: "live", case: first, ms: liveMs });
  if (liveMs > 2000) fail(`report ${first} appeared after ${liveMs} ms, more than 2 s`);

  // Some more cases so that the map shows a town at work.
  const more = [];
  for (const [to, text, lat, lon] of [
    ["info", "Baum auf dem Radweg umgestürzt", 51.0302, 7.5712], ["tiefbau", "Gully verstopft, Wasser steht", 51.0445, 7.6010],
    ["tiefbau", "Pflaster gelöst am Marktplatz", 51.0266, 7.5932], ["info", "Sperrmüll auf dem Gehweg", 51.0371, 7.5655],
    ["info", "Spielplatz: Schaukel defekt", 51.0221, 7.5802], ["tiefbau", "Kanaldeckel klappert laut", 51.0475, 7.5702],
    ["info", "Hecke ragt weit auf den Gehweg", 51.0335, 7.6105], ["tiefbau", "Schlagloch in der Hafenstraße", 51.0150, 7.6060],
    ["info", "Lärm von Baustelle nach 22 Uhr", 51.0290, 7.6080], ["tiefbau", "Radweg: Wurzelaufbruch", 51.0190, 7.5750],
  ]) more.push(await fileReport(to, text, lat, lon));
  await page.waitForFunction((cs) => cs.every((c) => document.querySelector(`#list li[data-case="${c}"]`)), more, { timeout: 15000 });
  if (shots) await page.screenshot({ path: shots + "/console-map.png" });

  // 3. Open the first case and reassign it to Grünflächen.
  await page.click(`#list li[data-case="${first}"]`);
  await page.waitForSelector("#detail:not([hidden]) #act-reassign");
  const detailText = await page.textContent("#detail");
  if (!detailText.includes("Schlagloch vor Hausnummer 12")) fail("incident view lacks the report text");
  await page.selectOption("#act-team", "gruenflaechen");
  await page.fill("#act-reassign-reason", "Baumwurzeln");
  await page.click("#act-reassign");
  await page.waitForFunction((c) => window.fg.state.items.get(c)?.team === "gruenflaechen", first, { timeout: 10000 });
  await page.waitForFunction(() => document.querySelector("#detail").textContent.includes("Baumwurzeln") || document.querySelector("#detail").textContent.includes("gruenflaechen"), null, { timeout: 10000 });
  if (shots) await page.screenshot({ path: shots + "/console-incident.png" });
  out({ step: "reassigned", case: first, team: "gruenflaechen" });

  // A photo's incident view shows its thumbnail (≤ 320 px) in the grid;
  // activating it by keyboard opens the team copy, Esc closes it.
  // Which list rows' thumbnails arrived: the image behind a 302 of
  // /api/v1/incidents/{case}/thumbnail (the incident view links it directly).
  const rowLoaded = new Set(), rowResponses = [];
  page.on("response", (r) => {
    const from = r.request().redirectedFrom()?.url() || r.url();
    const m = from.match(/\/api\/v1\/incidents\/([^/]+)\/thumbnail/);
    if (!m) return;
    rowResponses.push([m[1], r.status()]);
    if (r.status() === 200 && r.request().redirectedFrom()) rowLoaded.add(decodeURIComponent(m[1]));
  });
  const pic = await fileReport("tiefbau", "Wasserrohrbruch, Foto anbei", 51.0380, 7.5860, false, process.env.FG_PHOTO);
  let media;
  for (let i = 0; i < 300 && !media?.thumbnail_url; i++) {
    media = await page.evaluate(async (c) => (await (await fetch("/api/v1/incidents/" + c)).json()).reports?.[0]?.media?.[0], pic);
    if (!media?.thumbnail_url) await new Promise((r) => setTimeout(r, 100));
  }
  if (!media?.thumbnail_url || !media.team_copy_url) fail(`no thumbnail_url for ${pic} after 30 s: ${JSON.stringify(media)}`);
  await page.waitForSelector(`#list li[data-case="${pic}"]`, { timeout: 10000 });
  await page.click(`#list li[data-case="${pic}"]`);
  const thumbSel = "#detail .photos button.thumb img";
  await page.waitForFunction((s) => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0; }, thumbSel, { timeout: 10000 });
  const thumb = await page.$eval(thumbSel, (i) => ({ w: i.naturalWidth, h: i.naturalHeight, src: i.currentSrc, alt: i.alt, lazy: i.loading }));
  // Links are signed anew on each load of the incident: compare the object, not the signature.
  const object = (u) => u.split("?")[0];
  if (object(thumb.src) !== object(media.thumbnail_url)) fail("the grid does not show the thumbnail: " + thumb.src.split("?")[0]);
  if (Math.max(thumb.w, thumb.h) > 320 || thumb.lazy !== "lazy" || !thumb.alt.startsWith("Foto 1")) fail("thumbnail " + JSON.stringify({ ...thumb, src: undefined }));
  // The photo is older than 24 h: its plausibility note reads as words, not as an event kind.
  const trail = await page.textContent("#detail .timeline");
  if (!trail.includes("Plausibilitätshinweis: Foto älter als 24 h") || trail.includes("plausibility")) fail("timeline: " + trail.slice(0, 400));
  // Posted once per room (the rule copies it to the Leitstelle): each post names its room.
  await page.waitForFunction(() => {
    const s = document.querySelector("#detail .timeline")?.textContent || "";
    return /im Raum „tiefbau[^“]*“ gepostet/.test(s) && /im Raum „leitstelle[^“]*“ gepostet/.test(s);
  }, null, { timeout: 20000 }).catch(async () => fail("the posts do not name their rooms: " + (await page.textContent("#detail .timeline")).slice(0, 600)));
  if (shots) await page.locator("#detail").screenshot({ path: shots + "/console-photos.png" });
  await page.focus("#detail .photos button.thumb");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => { const i = document.querySelector("#photo-view[open] #photo-full"); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 10000 });
  const full = await page.$eval("#photo-full", (i) => ({ w: i.naturalWidth, h: i.naturalHeight, src: i.currentSrc }));
  if (object(full.src) !== object(media.team_copy_url) || Math.max(full.w, full.h) <= 320) fail("the photo view does not show the team copy: " + JSON.stringify({ ...full, src: full.src.split("?")[0] }));
  await page.keyboard.press("Escape");
  await page.waitForSelector("#photo-view:not([open])", { state: "attached", timeout: 5000 });
  if (!(await page.evaluate(() => document.activeElement?.matches("#detail .photos button.thumb")))) fail("the focus did not return to the thumbnail");

  // The list row shows the cover thumbnail (a CSS background) through
  // its stable URL; list re-renders (a search typed and cleared) fetch
  // nothing again.
  const rowSel = `#list li[data-case="${pic}"] .row-thumb`;
  for (let i = 0; i < 200 && !rowLoaded.has(pic); i++) await page.waitForTimeout(100);
  if (!rowLoaded.has(pic)) fail("the list row never loaded its thumbnail: " + JSON.stringify(rowResponses));
  const row = await page.$eval(rowSel, async (el) => {
    const url = getComputedStyle(el).backgroundImage.replace(/^url\("?|"?\)$/g, "");
    const i = new Image(); i.src = url; await i.decode();
    return { w: i.naturalWidth, h: i.naturalHeight, shown: el.getBoundingClientRect().width, url: new URL(url).pathname };
  });
  if (Math.max(row.w, row.h) > 320 || row.shown > 64 || !row.url.endsWith(`/api/v1/incidents/${pic}/thumbnail`)) fail("row thumbnail " + JSON.stringify(row));
  // A live update of the open case (someone takes it) redraws the view
  // but keeps its pictures: nothing is fetched again.
  await page.evaluate(() => { document.querySelector("#detail .photos img").fgMark = 1; });
  const again = [];
  // (The list row asks for its thumbnail again: its URL carries updated_at.)
  const onAgain = (r) => { if (r.url().includes("-thumb.jpg") && !r.redirectedFrom()) again.push(r.url().split("?")[0]); };
  page.on("request", onAgain);
  await page.evaluate(async (c) => fetch("/api/v1/incidents/" + c + "/take", { method: "POST", headers: { "X-CSRF-Token": window.fg.state.session.csrf } }), pic);
  await page.waitForFunction(() => document.querySelector("#detail").textContent.includes("übernommen von"), null, { timeout: 10000 });
  page.off("request", onAgain);
  const kept = await page.evaluate(() => document.querySelector("#detail .photos img")?.fgMark === 1);
  if (!kept || again.length) fail(`a live update of the open case rebuilt the photo grid (kept ${kept}) or fetched ${again.join(", ")}`);

  // A photo without a thumbnail (an incident JSON without thumbnail_url,
  // as before its processing) shows its team copy in the grid instead.
  const detailURL = base + "/api/v1/incidents/" + pic;
  await page.route(detailURL, async (route) => {
    const r = await route.fetch(); const d = await r.json();
    d.reports.forEach((rep) => rep.media.forEach((m) => { delete m.thumbnail_url; }));
    await route.fulfill({ response: r, json: d });
  });
  await page.click(`#list li[data-case="${pic}"]`);
  await page.waitForFunction((u) => { const i = document.querySelector("#detail .photos button.thumb img"); return i && i.complete && i.naturalWidth > 0 && i.currentSrc.split("?")[0] === u; },
    object(media.team_copy_url), { timeout: 10000 });
  await page.unroute(detailURL);

  // A PDF has no preview: the incident view says so, and its row asks
  // for a thumbnail (404) no more than once however often the list is drawn.
  const pdf = await fileReport("tiefbau", "Bescheid als PDF", 51.0381, 7.5861, false,
    new Blob(["%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"], { type: "application/pdf" }));
  await page.waitForSelector(`#list li[data-case="${pdf}"] .row-thumb`, { timeout: 10000 });
  await page.click(`#list li[data-case="${pdf}"]`);
  await page.waitForFunction((c) => document.querySelector("#detail h2")?.textContent.startsWith(c), pdf, { timeout: 10000 });
  const pdfView = await page.$eval("#detail .photos", (p) => ({ badge: p.querySelector(".no-preview")?.textContent, imgs: p.querySelectorAll("img").length, original: !!p.querySelector("figcaption a") }));
  if (pdfView.badge !== "keine Vorschau" || pdfView.imgs !== 0 || !pdfView.original) fail("PDF in the incident view: " + JSON.stringify(pdfView));
  const fetched = [];
  const onReq = (r) => { if (r.url().includes("/thumbnail") || r.url().includes("-thumb.jpg")) fetched.push(r.url().split("?")[0]); };
  page.on("request", onReq);
  for (const q of ["Wasser", "", "Wasserrohr", ""]) {
    const before = await page.evaluate(() => window.fg.renders);
    await page.fill("#f-q", q);
    await page.waitForFunction((n) => window.fg.renders > n, before, { timeout: 5000 });
  }
  await page.waitForSelector(rowSel, { timeout: 5000 });
  await page.waitForTimeout(300);
  page.off("request", onReq);
  if (fetched.length) fail("list re-renders fetched the row thumbnail again: " + fetched.join(", "));
  out({ step: "thumbs", case: pic, thumb: [thumb.w, thumb.h], team_copy: [full.w, full.h], row: [row.w, row.h], row_responses: rowResponses.filter(([c]) => c === pic).map(([, s]) => s),
    pdf_responses: rowResponses.filter(([c]) => c === pdf).map(([, s]) => s), refetched: fetched });

  // 4. Bulk-resolve two cases.
  await page.click("#detail .close");
  const two = [more[1], more[2]];
  for (const c of two) await page.check(`#list li[data-case="${c}"] input[type=checkbox]`);
  await page.click("#bulk-resolve");
  for (const c of two) {
    await page.waitForFunction((c) => window.fg.state.items.get(c)?.state === "resolved", c, { timeout: 10000 });
  }
  const states = await page.evaluate(async (cs) => Promise.all(cs.map(async (c) => (await (await fetch("/api/v1/incidents/" + c)).json()).state)), two);
  if (states.some((s) => s !== "resolved")) fail("bulk resolve left states " + states);
  out({ step: "bulk-resolved", cases: two });

  // Bulk merge: the newer of two cases becomes a duplicate of the older.
  const pair = [more[6], more[8]];
  for (const c of pair) await page.check(`#list li[data-case="${c}"] input[type=checkbox]`);
  await page.click("#bulk-merge");
  await page.waitForFunction((c) => window.fg.state.items.get(c)?.state === "merged", more[8], { timeout: 10000 });
  const merged = await page.evaluate(async (c) => (await (await fetch("/api/v1/incidents/" + c)).json()).duplicates, more[6]);
  if (!merged.includes(more[8])) fail(`bulk merge: ${more[6]} has duplicates ${merged}`);
  out({ step: "bulk-merged", into: more[6], duplicate: more[8] });

  // A take and a resolve through the same API, so the numbers have times.
  await page.evaluate(async (c) => {
    const h = { "X-CSRF-Token": window.fg.state.session.csrf };
    await fetch("/api/v1/incidents/" + c + "/take", { method: "POST", headers: h });
  }, more[5]);

  // 5. The numbers page.
  await page.click("#tab-numbers");
  await page.waitForSelector("#n-table tbody tr");
  const csv = await page.evaluate(async () => (await fetch(document.querySelector("#n-csv").href)).text());
  if (!csv.startsWith("team,incidents")) fail("CSV export: " + csv.slice(0, 80));
  if (shots) await page.screenshot({ path: shots + "/console-numbers.png" });
  out({ step: "numbers", csv_lines: csv.trim().split("\n").length });

  // 6. A Grünflächen member sees the reassigned case, not Tiefbau's.
  const other = await fileReport("tiefbau", "Radweg abgesackt", 51.0431, 7.5877);
  const member = await signIn(browser);
  const mp = member.page;
  await mp.waitForSelector(`#list li[data-case="${first}"]`, { timeout: 10000 });
  const seen = await mp.evaluate(() => window.fg.visibleCases());
  if (seen.includes(other) || seen.includes(more[0]) === false) fail(`member list ${seen}: must hold Grünflächen's cases only`);
  const direct = await mp.evaluate(async (c) => (await fetch("/api/v1/incidents/" + c)).status, other);
  const missing = await mp.evaluate(async () => (await fetch("/api/v1/incidents/2026-999999")).status);
  if (direct !== 404 || missing !== 404) fail(`member GET of another team's case: ${direct}, of a missing case: ${missing}; want 404 both`);
  const act = await mp.evaluate(async (c) => (await fetch("/api/v1/incidents/" + c + "/take", { method: "POST", headers: { "X-CSRF-Token": "forged" } })).status, first);
  if (act !== 403) fail(`a POST with a wrong CSRF token got ${act}, want 403`);
  out({ step: "member", sees: seen.length, other_case_status: direct });
  if (offsite.length) fail("requests left the machine: " + offsite.join(", "));
  out({ step: "done" });
} catch (e) {
  fail(String(e && e.stack || e));
} finally {
  await browser.close();
}
