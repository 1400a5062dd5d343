package dispatch

import (
	"context"
	"strconv"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Plausibility flags: no report is dropped for them; they are shown in
// the room post and kept in the trail (event "plausibility").
const (
	// flagPhotoOld: a photo's EXIF capture time is more than
	// Config.MaxPhotoAge before the report was received. Without its UTC
	// offset (EXIF OffsetTimeOriginal) the camera's wall clock is read in
	// the town's zone (media.Metadata.TakenAt).
	flagPhotoOld = "photo_old"
	// flagPhotoFuture: a photo's capture time is more than
	// photoFutureTolerance after the report was received: the camera's
	// clock (or its time zone) is wrong, so its time says nothing.
	flagPhotoFuture = "photo_time_future"
	// flagPositionsDisagree: positions of one report (a photo's EXIF or XMP
	// and the position sent with it, or two photos) are more than
	// Config.PartDistance apart; or a part was split off its case for that.
	flagPositionsDisagree = "positions_disagree"
)

// photoFutureTolerance is how far after its receipt a photo's capture
// time may lie before it is flagged: phones set their clocks from the
// network, but a camera without a time zone read in the town's zone may be
// off by the difference of zones.
const photoFutureTolerance = time.Hour

// photoTime says whether a photo taken at taken (nil: unknown) was older
// than maxAge (0: no limit) when its report was received, or taken more
// than photoFutureTolerance after that.
func photoTime(taken *time.Time, received time.Time, maxAge time.Duration) (old, future bool) {
	if taken == nil {
		return false, false
	}
	return maxAge > 0 && received.Sub(*taken) > maxAge, taken.After(received.Add(photoFutureTolerance))
}

// flag is one plausibility finding.
type flag struct {
	Kind      string
	DistanceM int       // flagPositionsDisagree
	Other     string    // the case the part was split from, if any
	TakenAt   time.Time // flagPhotoOld, flagPhotoFuture
	AgeH      int       // flagPhotoOld, hours before receipt
}

// plausibilityFlags checks a report's photos and positions. sent is the
// position that came with the message (geo:, XEP-0080, API), pos the one
// the report got (a photo's wins). A capture time without its UTC offset
// is the camera's wall clock in loc, the town's zone (media.Metadata.TakenAt).
func plausibilityFlags(rep Report, sent, pos *Position, distance float64, maxAge time.Duration, loc *time.Location) []flag {
	var flags []flag
	var seen []*Position
	if sent != nil {
		seen = append(seen, sent)
	}
	var oldest *time.Time // the oldest photo older than maxAge: one flag per report
	var future *time.Time // the latest photo taken after the receipt: one flag per report
	for _, m := range rep.Media {
		md := m.Metadata
		if md == nil {
			continue
		}
		taken := md.TakenAt(loc)
		old, late := photoTime(taken, rep.ReceivedAt, maxAge)
		if old && (oldest == nil || taken.Before(*oldest)) {
			oldest = taken
		}
		if late && (future == nil || taken.After(*future)) {
			future = taken
		}
		if p := md.Position; p != nil {
			seen = append(seen, &Position{Lat: p.Lat, Lon: p.Lon})
		}
	}
	if oldest != nil {
		flags = append(flags, flag{Kind: flagPhotoOld, TakenAt: oldest.UTC(),
			AgeH: int(rep.ReceivedAt.Sub(*oldest).Hours())})
	}
	if future != nil {
		flags = append(flags, flag{Kind: flagPhotoFuture, TakenAt: future.UTC()})
	}
	worst := 0.0
	for i := range seen {
		for j := i + 1; j < len(seen); j++ {
			worst = max(worst, distanceM(seen[i].Lat, seen[i].Lon, seen[j].Lat, seen[j].Lon))
		}
	}
	if distance > 0 && worst > distance {
		flags = append(flags, flag{Kind: flagPositionsDisagree, DistanceM: int(worst)})
	}
	return flags
}

// recordFlags writes each flag as a "plausibility" event.
func recordFlags(ctx context.Context, tx pgx.Tx, incident uuid.UUID, now time.Time, flags []flag) error {
	for _, e := range flagEvents(now, flags) {
		if err := insertEvent(ctx, tx, incident, e); err != nil {
			return err
		}
	}
	return nil
}

// flagEvents are the "plausibility" events of flags.
func flagEvents(now time.Time, flags []flag) []Event {
	var events []Event
	for _, f := range flags {
		d := map[string]any{"flag": f.Kind}
		switch f.Kind {
		case flagPhotoOld:
			d["taken_at"], d["age_h"] = f.TakenAt.Format(time.RFC3339), f.AgeH
		case flagPhotoFuture:
			d["taken_at"] = f.TakenAt.Format(time.RFC3339)
		case flagPositionsDisagree:
			d["distance_m"] = f.DistanceM
			if f.Other != "" {
				d["other_case"] = f.Other
			}
		}
		events = append(events, Event{At: now, Kind: "plausibility", Actor: "fieldgate", Via: "rules", Detail: d})
	}
	return events
}

// flagText renders a flag for the room post.
func flagText(lang string, loc *time.Location, f flag) string {
	switch f.Kind {
	case flagPhotoOld:
		return msg.For(lang).FlagPhotoOld(f.TakenAt.In(loc).Format("02.01.2006 15:04"), fmtAgeH(lang, f.AgeH))
	case flagPhotoFuture:
		return msg.For(lang).FlagPhotoFuture(f.TakenAt.In(loc).Format("02.01.2006 15:04"))
	case flagPositionsDisagree:
		if f.Other != "" {
			return msg.For(lang).FlagSplitFar(f.DistanceM, f.Other)
		}
		return msg.For(lang).FlagPositionsDisagree(f.DistanceM)
	}
	return ""
}

func fmtAgeH(lang string, h int) string {
	if h >= 48 {
		return strconv.Itoa(h/24) + " " + msg.For(lang).UnitD()
	}
	return strconv.Itoa(h) + " " + msg.For(lang).UnitH()
}

// geoText is a position as a geo URI with six decimals (about 0.1 m).
func geoText(p Position) string {
	return "geo:" + strconv.FormatFloat(p.Lat, 'f', 6, 64) + "," + strconv.FormatFloat(p.Lon, 'f', 6, 64)
}
