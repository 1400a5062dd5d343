package dispatch

import "testing"

func TestFoldName(t *testing.T) {
	for _, c := range [][2]string{
		{"Grünflächen", "gruenflaechen"},
		{"Grünflächen", "Grunflachen"},
		{"Grünflächen", "GRÜN FLÄCHEN"},
		{"Tiefbau Süd", "tiefbau-sued"},
		{"Straßenbau", "strassenbau"},
	} {
		a1, a2 := foldName(c[0])
		b1, b2 := foldName(c[1])
		if a1 != b1 && a1 != b2 && a2 != b1 && a2 != b2 {
			t.Errorf("%q and %q do not match (%s/%s vs %s/%s)", c[0], c[1], a1, a2, b1, b2)
		}
	}
	if a, _ := foldName("Tiefbau Nord"); a == "tiefbausued" {
		t.Error("different teams fold alike")
	}
}
