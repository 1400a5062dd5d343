// Measures the console with many open incidents in headless Chromium:
// time from navigation until the list and the map hold them all, one full
// render, filtering, and how many row thumbnails the page fetches. Not a
// timed test: it prints the numbers.
// Input: FG_BASE, FG_TOKEN (a dispatcher API token), FG_EXPECT (how many
// open incidents), FG_CHROMIUM.
import { chromium } from "playwright-core";

const base = process.env.FG_BASE, expect = Number(process.env.FG_EXPECT || 1000);
const browser = await chromium.launch({
  executablePath: process.env.FG_CHROMIUM || "/usr/bin/chromium-headless-shell",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await page.goto(base + "/console/");
  await page.fill("#token-input", process.env.FG_TOKEN);
  await page.click("#token-login");
  await page.waitForSelector("#app:not([hidden])");
  // Row thumbnails: how many the page asks the API for (each is one
  // presigned redirect) and how many reach the object store, per load.
  let thumbRequests = 0, thumbObjects = 0;
  page.on("request", (r) => {
    if (r.url().startsWith(base) && r.url().includes("/thumbnail")) thumbRequests++;
    else if (r.url().includes("-thumb.jpg")) thumbObjects++;
  });
  const runs = [];
  for (let i = 0; i < 3; i++) {
    thumbRequests = thumbObjects = 0;
    const t0 = Date.now();
    await page.goto(base + "/console/");
    await page.waitForFunction((n) => document.querySelectorAll("#list li").length >= n && window.fg.state.cluster.getLayers().length >= n, expect, { timeout: 30000, polling: 20 });
    const load = Date.now() - t0;
    const render = await page.evaluate(() => window.fg.lastRenderMs);
    const split = await page.evaluate(() => window.fg.lastSplit);
    // Filter: a text search, then team + urgency combined, then clear; each
    // measured from the input event to the next painted frame.
    const filter = await page.evaluate(async () => {
      const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const set = async (id, v, ev) => {
        const t = performance.now(); const el = document.getElementById(id); el.value = v; el.dispatchEvent(new Event(ev));
        await frame(); return { ms: Math.round(performance.now() - t), shown: document.querySelectorAll("#list li").length, split: window.fg.lastSplit };
      };
      const q = await set("f-q", "schlagloch", "input");
      await set("f-q", "", "input");
      await set("f-team", "gruenflaechen", "change");
      const combined = await set("f-urgency", "urgent", "change");
      await set("f-team", "", "change");
      const cleared = await set("f-urgency", "", "change");
      return { search: q, team_and_urgency: combined, cleared };
    });
    await page.waitForTimeout(500);
    const thumbs = { requests: thumbRequests, objects: thumbObjects, rows_with_photo: await page.evaluate(() => [...window.fg.state.items.values()].filter((it) => it.media > 0).length) };
    runs.push({ load_ms: load, render_ms: Math.round(render), split, filter, thumbs });
  }
  console.log(JSON.stringify({ incidents: expect, runs }));
} finally {
  await browser.close();
}
