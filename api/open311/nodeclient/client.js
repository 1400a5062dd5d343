'use strict';
// Files and reads a request with codeforamerica's node-open311 client.
// Usage: node client.js ENDPOINT API_KEY  (ENDPOINT ends with /open311/v2/)
// Prints one JSON object with what the client saw; exits non-zero on any error.
const Open311 = require('open311');

const [endpoint, apiKey] = process.argv.slice(2);
if (!endpoint || !apiKey) {
  console.error('usage: node client.js ENDPOINT API_KEY');
  process.exit(2);
}
const city = new Open311({ endpoint, apiKey, format: 'json', jurisdiction: 'stadt.example' });

function step(fn) {
  return new Promise((resolve, reject) => fn((err, data) => (err ? reject(new Error(String(data || err))) : resolve(data))));
}

(async () => {
  const out = {};
  out.services = await step((cb) => city.serviceList(cb));
  out.definition = await step((cb) => city.serviceDefinition('strassenschaden', cb));
  out.submitted = await step((cb) => city.submitRequest({
    service_code: 'strassenschaden',
    lat: 51.0251,
    long: 7.5919,
    description: 'Schlagloch, gemeldet mit node-open311',
    attributes: { schaden: 'schlagloch', tiefe_cm: '8' },
  }, cb));
  const id = out.submitted[0].service_request_id;
  out.token = await step((cb) => city.token(out.submitted[0].token, cb));
  out.request = await step((cb) => city.serviceRequests(id, cb));
  out.list = await step((cb) => city.serviceRequests({ service_code: 'strassenschaden', status: 'open' }, cb));
  process.stdout.write(JSON.stringify(out));
})().catch((err) => {
  console.error('open311 client failed:', err.message);
  process.exit(1);
});
