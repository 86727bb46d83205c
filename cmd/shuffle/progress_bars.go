package main

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cheggaaa/pb/v3"
	"github.com/shuffle-migrate/shuffle/engine/progress"
)

// maxVaultBars is how many vaults get a bar of their own during
// inventory; the rest share one.
const maxVaultBars = 12

const (
	statusTmpl = `{{string . "text"}}`
	vaultTmpl  = `{{string . "name"}} {{counters . }} {{bar . }} {{percent . }}`
	copyTmpl   = `copy {{counters . }} {{bar . }} {{percent . }} {{string . "rate"}} {{string . "eta"}} | {{string . "flight"}} in flight` +
		`{{with string . "failed"}} | {{red .}}{{end}}{{with string . "paused"}} | {{red .}}{{end}}`
)

// barsUI draws the progress on a terminal with a pb pool: a status
// line, a bar per vault while listing, an overall bar while copying.
type barsUI struct {
	mu     sync.Mutex
	out    io.Writer
	pool   *pb.Pool
	all    []*pb.ProgressBar // in the order drawn
	status *pb.ProgressBar
	vaults map[string]*pb.ProgressBar
	others *pb.ProgressBar // the vaults past maxVaultBars
	copy   *pb.ProgressBar
	err    error
}

func newBarsUI(out io.Writer) *barsUI {
	b := &barsUI{out: out, vaults: map[string]*pb.ProgressBar{}}
	b.status = b.newBar(statusTmpl, 0)
	b.all = []*pb.ProgressBar{b.status}
	b.startPool()
	return b
}

// startPool draws the bars not finished from here down.
func (b *barsUI) startPool() {
	var live []*pb.ProgressBar
	for _, bar := range b.all {
		if !bar.IsFinished() {
			live = append(live, bar)
		}
	}
	b.pool = pb.NewPool(live...)
	b.pool.Output = b.out
	if b.err = b.pool.Start(); b.err != nil {
		b.pool = nil
	}
}

// interject writes p (whole lines) to w, a writer on the same terminal,
// above the bars: the pool stops, its frame is erased, p is written and
// a new pool draws the bars below it.
func (b *barsUI) interject(w io.Writer, p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pool == nil {
		w.Write(p)
		return
	}
	_ = b.pool.Stop()
	if n := b.visible(); n > 0 {
		fmt.Fprintf(b.out, "\033[%dA\r\033[J", n)
	}
	w.Write(p)
	b.startPool()
}

// visible is how many lines the pool's last frame has.
func (b *barsUI) visible() int {
	n := 0
	for _, bar := range b.all {
		if !bar.IsFinished() || !bar.GetBool(pb.CleanOnFinish) {
			n++
		}
	}
	return n
}

// lineWriter hands whole lines to the bars' interject, so that the
// script's output (on the same terminal) is not drawn over.
type lineWriter struct {
	b   *barsUI
	w   io.Writer
	mu  sync.Mutex
	buf []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if i := bytes.LastIndexByte(l.buf, '\n'); i >= 0 {
		l.b.interject(l.w, l.buf[:i+1])
		l.buf = append(l.buf[:0], l.buf[i+1:]...)
	}
	return len(p), nil
}

// flush writes a last partial line.
func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.w.Write(l.buf)
		l.buf = nil
	}
}

func (b *barsUI) newBar(tmpl string, total int64) *pb.ProgressBar {
	bar := pb.New64(total).SetTemplateString(tmpl).SetWriter(b.out)
	bar.Set(pb.CleanOnFinish, true)
	return bar
}

func (b *barsUI) add(tmpl string, total int64) *pb.ProgressBar {
	bar := b.newBar(tmpl, total)
	b.all = append(b.all, bar)
	if b.pool != nil {
		b.pool.Add(bar)
	}
	return bar
}

// update reads the counters into the bars.
func (b *barsUI) update(u *progressUI, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pool == nil {
		return
	}
	c := u.src.Copy()
	text := "shuffle: starting"
	if c.Phase != "" {
		text = fmt.Sprintf("shuffle: %s, %s", c.Phase, fmtDuration(now.Sub(c.PhaseSince)))
	}
	if c.Phase == progress.PhaseInventory || len(b.vaults) > 0 {
		vs := u.src.Inventory()
		b.updateVaults(vs, c.Phase != progress.PhaseInventory)
		if c.Phase == progress.PhaseInventory {
			listed, expected := inventoryTotals(vs)
			u.lrate.observe(c.PhaseSince, now, listed, true, false, time.Time{})
			text += fmt.Sprintf(", %d/%d listed", listed, expected)
			if r := u.lrate.perHour(now); r > 0 {
				text += fmt.Sprintf(", %.0f RP/h, ETA %s", r, fmtDuration(time.Duration(float64(max(0, expected-listed))/r*float64(time.Hour))))
			}
		}
	}
	if c.Phase != progress.PhaseCopy && b.copy != nil {
		// Copying ended: the bar keeps its last rate.
		b.copy.SetCurrent(c.Completed)
		b.copy.Set("eta", "ETA -")
		b.copy.Set("flight", fmt.Sprintf("%d/%d", c.InFlight, c.Cap))
		if c.Failed > 0 {
			b.copy.Set("failed", fmt.Sprintf("%d failed", c.Failed))
		}
	}
	if c.Phase == progress.PhaseCopy && !u.dryRun {
		st := u.copyStatus(c, now)
		if b.copy == nil {
			b.copy = b.add(copyTmpl, st.total)
		}
		b.copy.SetTotal(st.total)
		b.copy.SetCurrent(st.done)
		b.copy.Set("rate", fmtRate(st.perHour))
		b.copy.Set("eta", etaText(st))
		b.copy.Set("flight", fmt.Sprintf("%d/%d", st.inFlight, st.cap))
		b.copy.Set("failed", "")
		if st.failed > 0 {
			b.copy.Set("failed", fmt.Sprintf("%d failed", st.failed))
		}
		b.copy.Set("paused", st.paused)
		if st.waiting > 0 {
			text += fmt.Sprintf(", %d waiting to retry", st.waiting)
		}
		if c.BytesTotal > 0 {
			text += fmt.Sprintf(", %s of %s copied", humanBytes(c.BytesDone), humanBytes(c.BytesTotal))
		}
	}
	if c.Paused {
		text += " | PAUSED: " + c.PausedReason
	}
	b.status.Set("text", text)
}

// updateVaults keeps a bar per vault; finished clears them.
func (b *barsUI) updateVaults(vs []progress.VaultProgress, finished bool) {
	if finished {
		for _, bar := range b.vaults {
			bar.Finish()
		}
		if b.others != nil {
			b.others.Finish()
		}
		clear(b.vaults)
		b.others = nil
		return
	}
	var restN int
	var rest progress.VaultProgress
	width := 0
	for i, v := range vs {
		if i < maxVaultBars {
			width = max(width, min(32, len(v.Vault)))
		}
	}
	for i, v := range vs {
		if i >= maxVaultBars-1 && len(vs) > maxVaultBars {
			restN++
			rest.Listed += v.Listed
			rest.Expected += max(v.Expected, v.Listed)
			continue
		}
		bar := b.vaults[v.Vault]
		if bar == nil {
			bar = b.add(vaultTmpl, v.Expected)
			b.vaults[v.Vault] = bar
		}
		bar.Set("name", fmt.Sprintf("%-*s", width, v.Vault))
		bar.SetTotal(max(v.Expected, v.Listed))
		bar.SetCurrent(v.Listed)
	}
	if restN > 0 {
		if b.others == nil {
			b.others = b.add(vaultTmpl, rest.Expected)
		}
		b.others.Set("name", fmt.Sprintf("%-*s", width, fmt.Sprintf("%d more vaults", restN)))
		b.others.SetTotal(rest.Expected)
		b.others.SetCurrent(rest.Listed)
	}
}

// stop draws the last frame and gives the terminal back.
func (b *barsUI) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pool == nil {
		return
	}
	for _, bar := range b.vaults {
		bar.Finish()
	}
	if b.copy != nil {
		// The last copy bar stays on screen above the summary.
		b.copy.Set(pb.CleanOnFinish, false)
		b.copy.Finish()
	}
	b.status.Finish()
	_ = b.pool.Stop()
	b.pool = nil
}
