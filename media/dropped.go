package media

import "slices"

// Tags whose presence is reported in Metadata.Dropped.
var droppedTags = []struct {
	tags []uint16
	what string
}{
	{[]uint16{0xA431, 0xA435}, "serial number"},
	{[]uint16{0xA430}, "owner name"},
	{[]uint16{0x013B}, "artist"},
	{[]uint16{0x8298}, "copyright"},
	{[]uint16{0x927C}, "maker notes"},
	{[]uint16{0x9286, 0x010E}, "comments/description"},
	{[]uint16{0xA420}, "image unique ID"},
	{[]uint16{0x010F, 0x0110, 0xA433, 0xA434}, "camera make/model/lens"},
	{[]uint16{0x0131}, "software"},
	{[]uint16{0x0132, 0x9003, 0x9004}, "capture time"},
}

// dropped lists what the team copy removes. The team copy is re-encoded
// from pixels or, losslessly, keeps only the segments a decoder needs
// (lossless.go), so it carries no metadata at all; this list names what
// the original had that matters for privacy.
func dropped(rep tiffReport, j jpegInfo) []string {
	var out []string
	if rep.hasGPS {
		out = append(out, "GPS")
	}
	for _, d := range droppedTags {
		if slices.ContainsFunc(d.tags, func(t uint16) bool { return rep.tags[t] }) {
			out = append(out, d.what)
		}
	}
	if rep.hasThumb {
		out = append(out, "embedded thumbnail")
	}
	if len(rep.tags) > 0 {
		out = append(out, "other EXIF tags")
	}
	if j.xmp {
		out = append(out, "XMP")
	}
	if j.iptc {
		out = append(out, "IPTC")
	}
	if j.icc {
		out = append(out, "ICC profile")
	}
	if j.comment {
		out = append(out, "comment or text chunks")
	}
	if j.others {
		out = append(out, "other application segments")
	}
	return out
}
