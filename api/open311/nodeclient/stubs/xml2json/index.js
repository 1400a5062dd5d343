'use strict';
// The fieldgate Open311 client test speaks JSON only; reaching XML parsing is a test failure.
exports.toJson = function toJson() {
  throw new Error('xml2json stub: XML format is not used by this test');
};
