// Package jpegsalvage is a copy of Go's image/jpeg decoder (BSD licence,
// see LICENSE; from Go 1.26) changed in one way: when the entropy-coded data
// is corrupt or truncated after the image buffer exists, Decode returns the
// part decoded so far (the rest grey) instead of nothing, as libjpeg and
// browsers do. media uses it only when image/jpeg refuses a file, to make a
// team copy of damaged photos. Changes are marked "salvage".
package jpegsalvage
