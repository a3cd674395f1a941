package logwrites

import "fmt"

// CrashPoint is a state the disk may be in after a power cut: every entry
// before Entry applied, nothing after. Entry is a flush (all writes the
// disk completed before it are on stable media), or len(Entries) for the
// whole log (the disk happened to persist everything it was sent).
type CrashPoint struct {
	// Entry is the index of the first entry not applied.
	Entry int
	// Writes counts the write entries applied.
	Writes int
	// Applied is the last marker among the entries applied (Seq 0: none).
	Applied Marker
	// Returned is the last marker written before the disk completed its
	// next flush after Entry that made more writes durable (the next
	// crash point): the power can fail right after the op it names
	// returned with nothing after Entry durable. Whatever that op, or any
	// op before it, promised durable must be in this image. It is what
	// catches a missing flush: the marker's own O_DSYNC flush would
	// otherwise make an fsync that forgot to flush look durable.
	Returned Marker
	// Subset, when set, lists the only write entries applied after the
	// previous crash point (Entry then names the flush that bounds them):
	// a disk with a volatile cache persisted some of them and not others.
	Subset []int
}

// Name says where the crash point is, for reports and file names.
func (p CrashPoint) Name() string {
	if len(p.Subset) > 0 {
		return fmt.Sprintf("entry%d-subset%d", p.Entry, p.Subset[0])
	}
	return fmt.Sprintf("entry%d", p.Entry)
}

// CrashPoints lists a crash point at every flush that follows at least one
// write since the previous crash point (a flush with nothing new gives the
// same image), plus one at the end of the log when writes follow the last
// flush. Markers are the writes of MarkerSize bytes at byte offset
// markerOff; every other write there is an error.
func (l *Log) CrashPoints(markerOff int64) ([]CrashPoint, error) {
	var out []CrashPoint
	var last Marker
	writes, sincePoint := 0, 0
	for _, e := range l.Entries {
		if e.Flush() && sincePoint > 0 {
			if n := len(out); n > 0 {
				out[n-1].Returned = last
			}
			out = append(out, CrashPoint{Entry: e.Index, Applied: last, Writes: writes})
			sincePoint = 0
		}
		if !e.IsWrite() {
			continue
		}
		writes++
		sincePoint++
		off := int64(e.Sector) * l.SectorSize
		end := off + int64(e.NrSectors)*l.SectorSize
		if end <= markerOff || off >= markerOff+MarkerSize {
			continue
		}
		b, err := l.Data(e)
		if err != nil {
			return nil, err
		}
		m, ok := DecodeMarker(b)
		if !ok || off != markerOff {
			return nil, fmt.Errorf("write log: entry %d writes [%d, %d), over the marker area at %d, and is not a marker", e.Index, off, end, markerOff)
		}
		if m.Seq != last.Seq+1 {
			return nil, fmt.Errorf("write log: entry %d holds marker %d after marker %d (a marker was lost or reordered)", e.Index, m.Seq, last.Seq)
		}
		last = m
	}
	if n := len(out); n > 0 {
		out[n-1].Returned = last
	}
	if sincePoint > 0 {
		out = append(out, CrashPoint{Entry: len(l.Entries), Applied: last, Returned: last, Writes: writes})
	}
	return out, nil
}
