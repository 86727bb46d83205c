package replicate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
	"github.com/shuffle-migrate/shuffle/engine/vaultpolicy"
	"github.com/shuffle-migrate/shuffle/luabind"
	"github.com/shuffle-migrate/shuffle/testenv"
)

// Propose is the vault replication would create: the resolved key, the
// lock it would apply, the notifications and the translated policy.
func TestProposeIsTheVaultReplicationWouldCreate(t *testing.T) {
	f := newReplFixture(t, testenv.Options{}, nil)
	p, ok := replicate.Propose(f.plans["prod-ebs-daily"], f.opt)
	if !ok {
		t.Fatal("prod-ebs-daily: no proposal, though its destination does not exist")
	}
	// Unlocked source, production: vaults.lua's governance lock.
	if !p.Locked || p.LockDate != nil || p.MinRetentionDays == nil || *p.MinRetentionDays != 7 || p.EncryptionKeyType != "CUSTOMER_MANAGED_KMS_KEY" || p.EncryptionKeyArn == "" || p.SNSTopicArn != "" && len(p.Events) == 0 {
		t.Errorf("prod-ebs-daily proposal: %+v", p)
	}
	if a := vaultpolicy.Summarize(p.AccessPolicy); a.AnyPrincipal || len(a.Accounts) != 1 || a.Accounts[0] != testenv.SourceAccount {
		t.Errorf(`prod-ebs-daily proposed access policy grants %+v; want only the source account's copy statement (no Principal "*")`, a)
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), "AllowOrgCopyIn not replicated") {
		t.Errorf("notes: %q", p.Notes)
	}
	if lag, _ := replicate.Propose(f.plans["legal-hold-airgapped"], f.opt); !lag.Locked || lag.EncryptionKeyType != "AWS_OWNED_KMS_KEY" || lag.MinRetentionDays == nil {
		t.Errorf("air-gapped proposal: %+v", lag)
	}
	if dev, _ := replicate.Propose(f.plans["dev-ebs-daily"], f.opt); dev.Locked {
		t.Errorf("dev proposal locked: %+v", dev)
	}
	if _, ok := replicate.Propose(f.plans["prod-rds-monthly"], f.opt); ok {
		t.Error("a proposal for prod-rds-monthly, whose destination exists")
	}
}

// A proposed vault that fails a blocking rule is not created: its status
// is blocked with the typed reason WaitCompliance and the rules; a
// passing one is created. The plan shows the same.
func TestProposedNonCompliantVaultIsBlockedBeforeCreation(t *testing.T) {
	f := newReplFixture(t, testenv.Options{}, nil)
	failing := &plan.ProposedVerdict{Module: "policies/compliance.lua", OnFailure: luabind.BlockVault,
		Failed: []luabind.ComplianceResult{{Rule: "vault-lock", Expected: "locked, MinRetentionDays >= 7", Actual: "not locked", Severity: "blocking"}}}
	f.plans["prod-ebs-weekly"].Proposed = failing
	f.plans["dev-ebs-daily"].Proposed = &plan.ProposedVerdict{Module: "policies/compliance.lua", OnFailure: luabind.BlockVault}

	pl, err := plan.BuildPlan(context.Background(), f.st, f.only("prod-ebs-weekly", "dev-ebs-daily"), replicate.PlanDestination, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range pl.Vaults {
		d := v.Destination
		switch v.Name {
		case "prod-ebs-weekly":
			if !d.ComplianceBlocked || len(d.Blocking) != 1 {
				t.Errorf("plan of the failing proposed vault: %+v", d)
			} else {
				contains(t, "plan blocking", d.Blocking[0], "compliance: destination vault prod-ebs-weekly", "policies/compliance.lua", "vault-lock (expected locked, MinRetentionDays >= 7, actual not locked)")
			}
		case "dev-ebs-daily":
			if d.ComplianceBlocked || len(d.Blocking) != 0 {
				t.Errorf("plan of the passing proposed vault: %+v", d)
			}
		}
	}

	writes := f.writes()
	res := runReplicate(t, f, f.only("prod-ebs-weekly"), f.dst, f.opt)
	s := wantStatus(t, res, "prod-ebs-weekly", replicate.ActionBlocked, false)
	if s.Wait != replicate.WaitCompliance || !s.Wait.Blocked() {
		t.Errorf("wait %q, want %q", s.Wait, replicate.WaitCompliance)
	}
	contains(t, "reason", s.Reason, "vault-lock (expected locked, MinRetentionDays >= 7, actual not locked)", "not created")
	if _, ok := f.destVaults(t)["prod-ebs-weekly"]; ok || f.writes() != writes {
		t.Fatalf("the non-compliant vault was created (%d writes)", f.writes()-writes)
	}
	res = runReplicate(t, f, f.only("dev-ebs-daily"), f.dst, f.opt)
	wantStatus(t, res, "dev-ebs-daily", replicate.ActionCreated, true)
}

// An existing vault with reconcile = true is judged as reconciling it
// would leave it; when that fails, it is left as it is and nothing is
// copied into it.
func TestProposedReconcileThatFailsLeavesTheVaultAlone(t *testing.T) {
	f := newReplFixture(t, testenv.Options{}, nil)
	const monthly = "prod-rds-monthly" // exists in the destination
	vp := f.plans[monthly]
	vp.Mapping.Reconcile = true
	p, ok := replicate.Propose(vp, f.opt)
	if !ok || !p.Reconciled || !p.Locked || p.Name != monthly {
		t.Fatalf("reconciled proposal: %+v (ok %v)", p, ok)
	}
	vp.Proposed = &plan.ProposedVerdict{Module: "policies/compliance.lua", OnFailure: luabind.BlockVault, Reconcile: true,
		Failed: []luabind.ComplianceResult{{Rule: "access-restricted", Expected: "x", Actual: "y", Severity: "blocking"}}}
	writes := f.writes()
	res := runReplicate(t, f, f.only(monthly), f.dst, f.opt)
	s := wantStatus(t, res, monthly, replicate.ActionBlocked, false)
	if s.Wait != replicate.WaitCompliance || !strings.Contains(s.Reason, "as shuffle would reconcile it fails") || !strings.Contains(s.Reason, "not reconciled") {
		t.Errorf("status %+v", s)
	}
	if f.writes() != writes {
		t.Errorf("%d writes to a vault whose reconciled form fails the policy", f.writes()-writes)
	}
	vp.Mapping.Reconcile = false
	if _, ok := replicate.Propose(vp, f.opt); ok {
		t.Error("an existing vault without reconcile was proposed")
	}
}
