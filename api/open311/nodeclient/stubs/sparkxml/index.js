'use strict';
// The fieldgate Open311 client test speaks JSON only; reaching XML parsing is a test failure.
exports.parseXml = function parseXml() {
  throw new Error('sparkxml stub: XML format is not used by this test');
};
