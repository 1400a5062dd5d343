package routing

import (
	"unicode"
	"unicode/utf8"
)

// matchKeywords sets s.kwRules to the rules that have a keyword the text
// contains. It folds the text and walks the trie in one pass without a
// buffer, folding exactly like appendFolded (which Explain uses).
func (rs *RuleSet) matchKeywords(text string, s *scratch) {
	clear(s.kwRules)
	w := walker{t: rs.idx.trie, masks: rs.idx.kwMask, out: s.kwRules, last: ' '}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= utf8.RuneSelf {
			i += w.rune(text[i:]) - 1
			continue
		}
		if c = asciiFold[c]; c == 0 {
			w.node, w.last = 0, ' '
			continue
		}
		if c == 'e' && (w.last == 'a' || w.last == 'o' || w.last == 'u') {
			continue // ae, oe, ue fold to a, o, u
		}
		w.last = c
		if w.node >= 0 {
			w.step(c)
		}
		if w.node < 0 {
			// the word left the trie: skip its remaining ASCII letters
			for i+1 < len(text) && text[i+1] < utf8.RuneSelf && asciiFold[text[i+1]] != 0 {
				i++
			}
		}
	}
}

// asciiFold maps ASCII letters and digits to their folded byte and
// everything else to 0 (a word separator).
var asciiFold = func() (t [utf8.RuneSelf]byte) {
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c
	}
	for c := byte('a'); c <= 'z'; c++ {
		t[c] = c
		t[c-'a'+'A'] = c
	}
	return t
}()

// walker follows one word at a time through the keyword trie.
type walker struct {
	t     *trie
	masks [][]uint64
	out   []uint64
	node  int32 // current trie node; -1 when the word left the trie
	last  byte  // last folded byte of the word, ' ' at a word start
}

// step moves to the child for c and records a keyword ending there.
func (w *walker) step(c byte) {
	child := w.t.child(w.node, c)
	w.node = child
	if child >= 0 {
		if k := w.t.nodes[child].kw; k >= 0 {
			or(w.out, w.masks[k])
		}
	}
}

// rune handles a non-ASCII rune at the start of s and returns its size.
func (w *walker) rune(s string) int {
	r, size := utf8.DecodeRuneInString(s)
	r = unicode.ToLower(r)
	if f, ok := foldRune(r); ok {
		for j := 0; j < len(f); j++ {
			c := f[j]
			if c == 'e' && (w.last == 'a' || w.last == 'o' || w.last == 'u') {
				continue
			}
			w.last = c
			if w.node >= 0 {
				w.step(c)
			}
		}
		return size
	}
	if unicode.IsLetter(r) || unicode.IsDigit(r) {
		var buf [utf8.UTFMax]byte
		n := utf8.EncodeRune(buf[:], r)
		for j := 0; j < n; j++ {
			w.last = buf[j]
			if w.node >= 0 {
				w.step(buf[j])
			}
		}
		return size
	}
	w.node, w.last = 0, ' '
	return size
}
