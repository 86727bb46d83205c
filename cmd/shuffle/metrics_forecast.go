package main

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuffle-migrate/shuffle/engine/forecast"
	"github.com/shuffle-migrate/shuffle/engine/progress"
)

// collectForecast sends the last forecast made, and has a new one made
// in the background when it is older than forecastEvery. Before the
// first is made, the at-risk count comes from the status (the one the
// last run or plan kept).
func (c *metricsCollector) collectForecast(ch chan<- prometheus.Metric, now time.Time, snap progress.CopySnapshot, status *forecast.Status) {
	fc := &c.fc
	fc.mu.Lock()
	f := fc.f
	if status != nil && !fc.refreshing && (fc.tried.IsZero() || now.Sub(fc.tried) >= forecastEvery) {
		fc.tried, fc.refreshing = now, true
		o := forecast.Options{MaxInFlight: snap.MaxCap}
		if o.MaxInFlight <= 0 {
			o.MaxInFlight = c.src.MaxInFlight()
		}
		fc.wg.Add(1)
		go c.refreshForecast(o)
	}
	fc.mu.Unlock()
	if f == nil {
		if status != nil && status.AtRisk != nil {
			emit(ch, mFcAtRisk, float64(status.AtRisk.RecoveryPoints))
		}
		return
	}
	p := f.Projection
	emit(ch, mFcRemain, p.RemainingSeconds)
	if p.Finish != nil {
		emit(ch, mFcFinish, unix(*p.Finish))
	}
	risk := 0.0
	if p.AtRisk != nil {
		risk = float64(p.AtRisk.RecoveryPoints)
	}
	emit(ch, mFcAtRisk, risk)
	emit(ch, mFcMade, unix(f.GeneratedAt))
}

// refreshForecast makes a forecast of the live state and keeps it.
func (c *metricsCollector) refreshForecast(o forecast.Options) {
	fc := &c.fc
	defer fc.wg.Done()
	var f *forecast.Forecast
	var err error
	c.mu.RLock()
	ctx := c.ctx
	if c.src != nil {
		f, err = c.src.Forecast(ctx, o)
	}
	c.mu.RUnlock()
	if err != nil && !errors.Is(err, errStateNotOpen) && ctx.Err() == nil {
		c.readFailed("forecast")
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.refreshing = false
	if err == nil && f != nil {
		fc.f = f
	}
}
