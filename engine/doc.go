// Package engine holds shuffle's inventory, enrichment, decision and
// copy orchestration. It defines the narrow AWS interfaces it uses; the
// SDK adapters sit behind them.
package engine
