package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/fieldgate/fieldgate/media"
)

// runMedia implements "fieldgate media inspect FILE…": for each file, what
// fieldgate would read from it and what the team copy drops. It exits 0
// when every file was read (with or without a position) and 1 when any
// file was refused (unreadable, type not allowed, or too large).
func runMedia(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "inspect" {
		fmt.Fprint(stderr, "usage: fieldgate media inspect FILE…\n       fieldgate media sweep [--dry-run] [--grace 1h] [--config FILE]\n")
		return exitError{2}
	}
	fs := flag.NewFlagSet("media inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return exitError{2}
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, "usage: fieldgate media inspect FILE…\n")
		return exitError{2}
	}
	refused := 0
	for i, name := range fs.Args() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if err := inspectFile(stdout, name); err != nil {
			fmt.Fprintf(stdout, "%s\n  refused: %v\n", name, err)
			refused++
		}
	}
	if refused > 0 {
		fmt.Fprintf(stderr, "fieldgate: %d of %d files refused\n", refused, fs.NArg())
		return exitError{1}
	}
	return nil
}

func inspectFile(w io.Writer, name string) (err error) {
	defer func() {
		if p := recover(); p != nil { // Extract does not panic; belt and braces
			err = fmt.Errorf("internal error reading %s: %v", name, p)
		}
	}()
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	head := make([]byte, media.SniffLen)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return err
	}
	ct := media.Sniff(head[:n])
	limit, ok := media.Limit(media.DefaultTypes(), ct)
	switch {
	case n == 0:
		return errors.New("empty file")
	case !ok:
		return fmt.Errorf("detected type %s is not allowed", ct)
	case st.Size() > limit:
		return fmt.Errorf("%d bytes is over the %d-byte limit for %s", st.Size(), limit, ct)
	}
	md, err := media.Extract(f, st.Size(), ct)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s\n", name)
	fmt.Fprintf(w, "  type:        %s (detected from content)\n", ct)
	fmt.Fprintf(w, "  size:        %d bytes\n", st.Size())
	if p := md.Position; p != nil {
		alt := "unknown"
		if p.Alt != nil {
			alt = strconv.FormatFloat(*p.Alt, 'f', 1, 64)
		}
		fmt.Fprintf(w, "  position:    lat=%s lon=%s alt=%s (from %s)\n",
			strconv.FormatFloat(p.Lat, 'f', 8, 64), strconv.FormatFloat(p.Lon, 'f', 8, 64), alt, md.PositionSource)
	} else {
		fmt.Fprintf(w, "  position:    no position (%s)\n", md.NoPositionReason)
	}
	switch {
	case md.Taken == nil:
		fmt.Fprintf(w, "  captured:    unknown\n")
	case md.TakenZoneKnown:
		fmt.Fprintf(w, "  captured:    %s\n", md.Taken.Format("2006-01-02 15:04:05 -07:00"))
	default:
		fmt.Fprintf(w, "  captured:    %s (camera clock, time zone unknown)\n", md.Taken.Format("2006-01-02 15:04:05"))
	}
	if md.GPSTime != nil {
		fmt.Fprintf(w, "  GPS time:    %s\n", md.GPSTime.UTC().Format("2006-01-02 15:04:05Z"))
	}
	orientation := orientationText(md.Orientation)
	if (ct == media.TypeHEIC || ct == media.TypeHEIF) && md.Orientation > 1 {
		// ISO/IEC 23008-12: irot/imir turn the picture; EXIF only describes.
		orientation += " in EXIF, informative only: the container's irot/imir apply"
	}
	fmt.Fprintf(w, "  orientation: %s\n", orientation)
	camera := strings.TrimSpace(md.Make + " " + md.Model)
	if camera == "" {
		camera = "unknown"
	}
	fmt.Fprintf(w, "  camera:      %s\n", camera)
	switch ct {
	case media.TypeJPEG, media.TypePNG, media.TypeWebP, media.TypeHEIC, media.TypeHEIF:
		dropped := "nothing (no metadata found)"
		if len(md.Dropped) > 0 {
			dropped = strings.Join(md.Dropped, ", ")
		}
		fmt.Fprintf(w, "  team copy:   upright, re-encoded without any metadata; drops: %s\n", dropped)
	default:
		fmt.Fprintf(w, "  team copy:   none for %s\n", ct)
	}
	return nil
}

func orientationText(o int) string {
	names := map[int]string{1: "normal", 2: "mirrored", 3: "rotated 180°", 4: "flipped",
		5: "transposed", 6: "rotated 90° clockwise", 7: "transversed", 8: "rotated 90° counter-clockwise"}
	if s, ok := names[o]; ok {
		return fmt.Sprintf("%d (%s)", o, s)
	}
	return "unknown"
}
