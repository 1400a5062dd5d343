// Copies the pinned browser libraries from node_modules into
// static/vendor/, which the Go binary embeds. Run by `make` after
// `npm ci --ignore-scripts`; nothing is fetched at run time.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "static", "vendor");
const files = {
  "leaflet/dist/leaflet.js": "leaflet.js",
  "leaflet/dist/leaflet.css": "leaflet.css",
  "leaflet/dist/images": "images",
  "leaflet.markercluster/dist/leaflet.markercluster.js": "leaflet.markercluster.js",
  "leaflet.markercluster/dist/MarkerCluster.css": "MarkerCluster.css",
  "leaflet.markercluster/dist/MarkerCluster.Default.css": "MarkerCluster.Default.css",
  "leaflet/LICENSE": "LICENSE.leaflet",
  "leaflet.markercluster/MIT-LICENCE.txt": "LICENSE.markercluster",
};
for (const name of ["leaflet.js", "leaflet.css", "images", "leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css"]) {
  rmSync(join(out, name), { recursive: true, force: true });
}
mkdirSync(out, { recursive: true });
for (const [from, to] of Object.entries(files)) {
  cpSync(join(here, "node_modules", from), join(out, to), { recursive: true });
}
console.log("console: vendored leaflet and leaflet.markercluster into static/vendor/");
