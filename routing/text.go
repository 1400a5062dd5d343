package routing

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Keywords match case- and umlaut-insensitively at the start of a word:
// "schlagloch" matches "#Schlagloch", "Schlaglöcher" and "Schlagloecher".
// Text and keywords go through the same folding: lower case, diacritics
// removed, ß → ss, and ae/oe/ue → a/o/u (so the transcriptions match the
// umlauts). Anything that is not a letter or digit separates words.

// foldRune maps a lower-case rune to its folded ASCII form; ok is false
// when the rune has no folding and is kept as is.
func foldRune(r rune) (string, bool) {
	switch r {
	case 'ä', 'à', 'á', 'â', 'ã', 'å', 'ā':
		return "a", true
	case 'ö', 'ò', 'ó', 'ô', 'õ', 'ø', 'ō':
		return "o", true
	case 'ü', 'ù', 'ú', 'û', 'ū':
		return "u", true
	case 'é', 'è', 'ê', 'ë', 'ē':
		return "e", true
	case 'í', 'ì', 'î', 'ï':
		return "i", true
	case 'ç':
		return "c", true
	case 'ñ':
		return "n", true
	case 'ß', 'ẞ':
		return "ss", true
	}
	return "", false
}

// appendFolded appends the folded words of s to dst, separated by single
// spaces, with a leading and trailing space when non-empty. It does not
// allocate when dst has room.
func appendFolded(dst []byte, s string) []byte {
	start := len(dst)
	dst = append(dst, ' ')
	sep := true // the last byte written is a separator
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
				dst = appendFoldedByte(dst, c, sep)
				sep = false
			} else if !sep {
				dst = append(dst, ' ')
				sep = true
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		r = unicode.ToLower(r)
		if f, ok := foldRune(r); ok {
			for j := 0; j < len(f); j++ {
				dst = appendFoldedByte(dst, f[j], sep)
				sep = false
			}
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			dst = utf8.AppendRune(dst, r)
			sep = false
			continue
		}
		if !sep {
			dst = append(dst, ' ')
			sep = true
		}
	}
	if !sep {
		dst = append(dst, ' ')
	}
	if len(dst) == start+1 {
		return dst[:start]
	}
	return dst
}

// appendFoldedByte appends a letter or digit, dropping the e of ae, oe
// and ue.
func appendFoldedByte(dst []byte, b byte, sep bool) []byte {
	if b == 'e' && !sep {
		switch dst[len(dst)-1] {
		case 'a', 'o', 'u':
			return dst
		}
	}
	return append(dst, b)
}

// foldKeyword returns the folded form of a keyword ("#Schlaglöcher" →
// "schlaglocher"), or "" if it has no letters or digits.
func foldKeyword(k string) string {
	return strings.TrimSpace(string(appendFolded(nil, k)))
}

// trie holds all folded keywords of a rule set. Walking a word from its
// first byte visits every keyword that is a prefix of the word. It is
// built with insert and then sealed into compact arrays (16 bytes a node)
// so that a walk touches little memory.
type trie struct {
	build []trieBuildNode // until seal

	nodes  []trieNode
	labels []byte  // children's bytes, per node from first to first+n
	next   []int32 // children's node indexes, parallel to labels
	dense  []int32 // 256 child indexes per dense node (0 = none)
}

type trieBuildNode struct {
	labels []byte
	next   []int32
	kw     int32
}

type trieNode struct {
	kw    int32 // keyword id ending here, or -1
	dense int32 // offset of the node's 256-entry table in dense, or -1
	first int32 // first child in labels/next
	n     int32 // number of children
}

// denseFrom is the number of children from which a node gets a dense
// child table (the root and the first levels of a large keyword set).
const denseFrom = 6

func newTrie() *trie { return &trie{build: []trieBuildNode{{kw: -1}}} }

// insert adds a folded keyword and returns its id (ids are dense; the same
// keyword gets the same id).
func (t *trie) insert(word string, nextID *int32) int32 {
	n := int32(0)
	for i := 0; i < len(word); i++ {
		c := word[i]
		nd := &t.build[n]
		child := int32(-1)
		for j, l := range nd.labels {
			if l == c {
				child = nd.next[j]
				break
			}
		}
		if child < 0 {
			child = int32(len(t.build))
			nd.labels = append(nd.labels, c)
			nd.next = append(nd.next, child)
			t.build = append(t.build, trieBuildNode{kw: -1})
		}
		n = child
	}
	if t.build[n].kw < 0 {
		t.build[n].kw = *nextID
		*nextID++
	}
	return t.build[n].kw
}

// seal builds the compact arrays; call after the last insert.
func (t *trie) seal() {
	t.nodes = make([]trieNode, len(t.build))
	for i, b := range t.build {
		nd := trieNode{kw: b.kw, dense: -1, first: int32(len(t.labels)), n: int32(len(b.labels))}
		t.labels = append(t.labels, b.labels...)
		t.next = append(t.next, b.next...)
		if len(b.labels) >= denseFrom {
			nd.dense = int32(len(t.dense))
			t.dense = append(t.dense, make([]int32, 256)...)
			for j, l := range b.labels {
				t.dense[int(nd.dense)+int(l)] = b.next[j]
			}
		}
		t.nodes[i] = nd
	}
	t.build = nil
}

// child returns node n's child for byte c, or -1.
func (t *trie) child(n int32, c byte) int32 {
	nd := &t.nodes[n]
	if nd.dense >= 0 {
		if d := t.dense[int(nd.dense)+int(c)]; d > 0 {
			return d
		}
		return -1
	}
	end := nd.first + nd.n
	for j := nd.first; j < end; j++ {
		if t.labels[j] == c {
			return t.next[j]
		}
	}
	return -1
}

// hasWordPrefix reports whether folded text (as produced by appendFolded:
// words separated by single spaces, with a leading space) has a word
// starting with the folded keyword kw. Explain uses this naive check.
func hasWordPrefix(folded, kw string) bool {
	return strings.Contains(folded, " "+kw)
}
