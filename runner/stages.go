package runner

import (
	"fmt"
	"io"
	"time"
)

// Stage is one timed step of a run.
type Stage struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration_ns"`
	Note     string        `json:"note,omitempty"`
}

// stager times a run's stages: each done records the time since the
// last one in the report and logs it.
type stager struct {
	r    *Report
	log  io.Writer
	last time.Time
}

func (s *stager) done(name, note string) {
	d := time.Since(s.last)
	s.last = time.Now()
	s.r.Stages = append(s.r.Stages, Stage{Name: name, Duration: d, Note: note})
	fmt.Fprintf(s.log, "stage %-9s %7.1fs  %s\n", name, d.Seconds(), note)
}
