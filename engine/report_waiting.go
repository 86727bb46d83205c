package engine

import (
	"sort"

	"github.com/shuffle-migrate/shuffle/engine/copier"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// WaitingVault is one source vault whose recovery points wait for their
// destination vault at the end of a run, in the run report.
type WaitingVault struct {
	Vault          string               `json:"vault"`           // source vault
	RecoveryPoints int64                `json:"recovery_points"` // included RPs not started because of it
	Wait           replicate.WaitReason `json:"wait"`
	// Blocked: the operator must act (anything but a vault AWS is still
	// creating, which the next run picks up by itself).
	Blocked bool   `json:"blocked"`
	Reason  string `json:"reason"`
}

// waitingVaults lists the copy summary's waiting RPs by vault, most
// first.
func waitingVaults(sum copier.Summary) []WaitingVault {
	out := []WaitingVault{}
	for v, n := range sum.WaitingByVault {
		w := sum.WaitingWhy[v]
		out = append(out, WaitingVault{Vault: v, RecoveryPoints: n, Wait: w, Blocked: w.Blocked(), Reason: sum.WaitingReasons[v]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].RecoveryPoints != out[j].RecoveryPoints {
			return out[i].RecoveryPoints > out[j].RecoveryPoints
		}
		return out[i].Vault < out[j].Vault
	})
	return out
}

// RunWaiting is waitingVaults for the run record (status shows it).
func RunWaiting(sum copier.Summary) []state.RunWaiting {
	var out []state.RunWaiting
	for _, w := range waitingVaults(sum) {
		out = append(out, state.RunWaiting{Vault: w.Vault, RecoveryPoints: w.RecoveryPoints, Wait: string(w.Wait), Blocked: w.Blocked, Reason: w.Reason})
	}
	return out
}
