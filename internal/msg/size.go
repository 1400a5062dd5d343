package msg

import (
	"fmt"
	"strings"
)

// size words a count of bytes in binary units (IEC 80000-13: KiB, MiB,
// GiB) with one decimal, the decimal separator being decimalSep: "20.0 MiB"
// in English, "20,0 MiB" in German.
func size(n int64, decimalSep string) string {
	var s string
	switch {
	case n >= 1<<30:
		s = fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		s = fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		s = fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
	return strings.Replace(s, ".", decimalSep, 1)
}
