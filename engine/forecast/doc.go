// Package forecast reads where the copy stands (ReadStatus) and projects
// the rest of it (Make): one joined scan of the state's RP and
// copy-record ranges, the observed rates, a duration model per resource
// type (engine/estimate's fit) and a list-scheduling simulation that
// orders work as the copy scheduler does (sim.go, startsFirst). See
// docs/forecast.md.
//
// It only reads: it must not call AWS, write the state, or draw (the
// chart is the CLI's, from ChartSeries' plain points). It keeps per-RP
// data only as compact arrays, so a million RPs fit in memory.
package forecast
