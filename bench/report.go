package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// A series is the samples of one target and setting, one per round.
type series []sample

// median returns the sample with the median requests/s (the lower middle one
// for an even count), so its latencies and CPU figures belong to one run.
func (s series) median() sample {
	if len(s) == 0 {
		return sample{}
	}
	sorted := slices.Clone(s)
	slices.SortFunc(sorted, func(a, b sample) int { return cmpFloat(a.rps(), b.rps()) })
	return sorted[(len(sorted)-1)/2]
}

// spread is (max − min) / median of requests/s across rounds.
func (s series) spread() float64 {
	if len(s) < 2 {
		return 0
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range s {
		lo, hi = min(lo, x.rps()), max(hi, x.rps())
	}
	m := s.median().rps()
	if m == 0 {
		return 0
	}
	return (hi - lo) / m
}

// failures adds up the errors and non-2xx answers of every round.
func (s series) failures() int64 {
	var n int64
	for _, x := range s {
		n += x.errors + x.non2xx
	}
	return n
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// percentile returns the p-th percentile (0 < p ≤ 100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// medianDuration returns the median of ds.
func medianDuration(ds []time.Duration) time.Duration { return percentile(ds, 50) }

// fmtDur writes a duration with three significant figures in µs, ms or s.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%.3g µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.3g ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.3g s", d.Seconds())
}

// fmtRate writes a rate with at most three decimals of precision lost.
func fmtRate(r float64) string {
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f", r)
	case r >= 10:
		return fmt.Sprintf("%.1f", r)
	}
	return fmt.Sprintf("%.2f", r)
}

func fmtRatio(r float64) string {
	if r == 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", r)
}

func fmtMB(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

// A gwRow is one line of the gateway table.
type gwRow struct {
	target  string
	conns   int
	runs    series
	skipped string // why the target was not measured
}

// A regRow is one line of the registry table. The main figures sb and floor
// are in unit; "vs floor" is sb/floor when higherBetter, else floor/sb, so it
// is always the share of the floor's performance Switchboard reaches.
type regRow struct {
	workload     string
	unit         string
	sb, floor    float64
	higherBetter bool
	sbDetail     string
	floorDetail  string
	target       string
	skipped      string
}

func (r regRow) vsFloor() float64 {
	if r.sb == 0 || r.floor == 0 {
		return 0
	}
	if r.higherBetter {
		return r.sb / r.floor
	}
	return r.floor / r.sb
}

// A goal is one of issue 7's targets and where the run left it.
type goal struct {
	text   string
	got    string
	met    bool
	judged bool // false when the run did not measure it
}

// report collects the results of the suites for printing.
type report struct {
	machine  []string
	gateway  []gwRow
	registry []regRow
	notes    []string
	goals    []goal
	// maxForeign is the largest share of the server CPUs that other
	// processes took during one measured run; above busyLimit the figures
	// are not results.
	maxForeign float64
	foreignAt  string
}

// busyLimit is the share of the server CPUs other processes may take during
// a run before the report calls the machine busy.
const busyLimit = 0.05

func (r *report) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *report) goal(text, got string, met bool) {
	r.goals = append(r.goals, goal{text: text, got: got, met: met, judged: true})
}

func (r *report) unjudged(text, why string) {
	r.goals = append(r.goals, goal{text: text, got: why})
}

// gwMedian returns the median requests/s of target at conns, or 0.
func (r *report) gwMedian(target string, conns int) float64 {
	for _, row := range r.gateway {
		if row.target == target && row.conns == conns && row.skipped == "" {
			return row.runs.median().rps()
		}
	}
	return 0
}

// write prints the report as Markdown.
func (r *report) write(w io.Writer, o *options) {
	fmt.Fprintf(w, "\n## Switchboard bench, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	for _, m := range r.machine {
		fmt.Fprintf(w, "- %s\n", m)
	}
	if r.maxForeign > busyLimit {
		fmt.Fprintf(w, "- **busy machine: other processes took up to %.0f%% of the server CPUs during a run (%s); "+
			"throughput and latency figures are not results (CPU per request holds up better)**\n", 100*r.maxForeign, r.foreignAt)
	}
	if len(r.gateway) > 0 {
		fmt.Fprintf(w, "\n### Gateway: 100-byte backend, wrk -t1, %v runs\n\n", o.duration)
		fmt.Fprintln(w, "| target | conns | req/s | spread | p50 | p99 | server CPU/req | server CPU | wrk CPU | other load | × direct | × nginx | errors |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		for _, row := range r.gateway {
			if row.skipped != "" {
				fmt.Fprintf(w, "| %s | %d | skipped: %s ||||||||||| \n", row.target, row.conns, row.skipped)
				continue
			}
			m := row.runs.median()
			direct, nginx := r.gwMedian("direct", row.conns), r.gwMedian("nginx", row.conns)
			secs := m.elapsed.Seconds()
			spread := "–"
			if len(row.runs) > 1 {
				spread = fmt.Sprintf("±%.1f%%", 50*row.runs.spread())
			}
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %.0f%% | %.0f%% | %.0f%% | %s | %s | %d |\n",
				row.target, row.conns, fmtRate(m.rps()), spread, fmtDur(m.p50), fmtDur(m.p99),
				fmtDur(m.cpuPerReq()), 100*m.serverCPU.Seconds()/secs, 100*m.clientCPU.Seconds()/secs, 100*m.foreign,
				fmtRatio(m.rps()/direct), fmtRatio(m.rps()/nginx), row.runs.failures())
		}
	}
	if len(r.registry) > 0 {
		fmt.Fprintf(w, "\n### Registry: `switchboard registry` against a bare net/http floor\n\n")
		fmt.Fprintln(w, "| workload | Switchboard | floor | vs floor | Switchboard detail | floor detail | target |")
		fmt.Fprintln(w, "|---|--:|--:|--:|---|---|---|")
		for _, row := range r.registry {
			if row.skipped != "" {
				fmt.Fprintf(w, "| %s | skipped: %s ||||||\n", row.workload, row.skipped)
				continue
			}
			floor := "–"
			if row.floor != 0 {
				floor = fmtFigure(row.floor, row.unit)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", row.workload, fmtFigure(row.sb, row.unit),
				floor, fmtRatio(row.vsFloor()), row.sbDetail, row.floorDetail, row.target)
		}
	}
	if len(r.goals) > 0 {
		fmt.Fprintf(w, "\n### Issue 7 targets\n\n")
		fmt.Fprintln(w, "| target | this run | met |")
		fmt.Fprintln(w, "|---|---|---|")
		for _, g := range r.goals {
			met := "not measured"
			if g.judged {
				met = "no"
				if g.met {
					met = "yes"
				}
				if r.maxForeign > busyLimit {
					met += " (busy machine)"
				}
			}
			fmt.Fprintf(w, "| %s | %s | %s |\n", g.text, g.got, met)
		}
	}
	if len(r.notes) > 0 {
		fmt.Fprintf(w, "\nNotes:\n\n")
		for _, n := range r.notes {
			fmt.Fprintf(w, "- %s\n", strings.ReplaceAll(n, "\n", "\n  "))
		}
	}
	fmt.Fprintln(w)
}

// fmtFigure writes a main figure of the registry table in its unit.
func fmtFigure(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmtDur(time.Duration(v * float64(time.Millisecond)))
	case "MB":
		return fmt.Sprintf("%.1f MB", v)
	}
	return fmtRate(v) + " " + unit
}

// gwRow returns the measured row of target at conns, or nil.
func (r *report) gwRow(target string, conns int) *gwRow {
	for i := range r.gateway {
		row := &r.gateway[i]
		if row.target == target && row.conns == conns && row.skipped == "" && len(row.runs) > 0 {
			return row
		}
	}
	return nil
}
