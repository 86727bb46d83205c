package preflight

import (
	"fmt"
	"time"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/finding"
)

// expirySoon is how close an expiry that nothing renews must be for
// check to warn of it: a run started now would pause within the hour.
const expirySoon = time.Hour

// CredentialFindings tells how one side's credentials are obtained and
// when they expire (Info), and warns when they expire within the hour
// with nothing to renew them, or when an expiry in the shared files
// cannot be read.
func CredentialFindings(side finding.Side, info awsclient.ProfileInfo, now time.Time) []finding.Finding {
	var out []finding.Finding
	what := fmt.Sprintf("profile %q: %s; credentials expire %s", info.Profile, info.Chain.Describe(), whenText(info.Expires, now))
	if !info.SessionExpires.IsZero() {
		what += fmt.Sprintf("; behind them, %s %s", sessionWord(info.Chain), whenText(info.SessionExpires, now))
	}
	if info.Chain.Renews() {
		what += " (shuffle renews them through the chain)"
	}
	out = append(out, finding.New(finding.Info, side, "credentials", "", what, "", ""))
	if info.ExpiryProblem != nil {
		out = append(out, finding.New(finding.Warning, side, "credentials", "", info.ExpiryProblem.Error(),
			"shuffle cannot warn ahead of this expiry; the run pauses when the credentials lapse", "write the expiry as RFC 3339 (2026-12-06T17:00:00Z) or epoch seconds"))
	}
	exp := info.Expires
	if info.Chain.Renews() {
		exp = info.SessionExpires // what the operator renews by hand
	}
	if !exp.IsZero() && exp.Sub(now) < expirySoon {
		out = append(out, finding.New(finding.Warning, side, "credentials", "", fmt.Sprintf("profile %q: %s %s", info.Profile, byHand(info.Chain), whenText(exp, now)),
			"a run started now pauses when it lapses, until someone renews it", info.Remedy+" (or keep a refresher running)"))
	}
	return out
}

// byHand names what the operator renews by hand for the chain.
func byHand(c awsclient.Chain) string {
	switch {
	case c.Base == awsclient.KindSSO:
		return "the IAM Identity Center session ends"
	case len(c.Roles) > 0:
		return fmt.Sprintf("the keys of source profile %q expire", c.BaseProfile)
	}
	return "its keys expire"
}

func sessionWord(c awsclient.Chain) string {
	if c.Base == awsclient.KindSSO {
		return "the IAM Identity Center session ends"
	}
	return "the source keys expire"
}

func whenText(t, now time.Time) string {
	switch {
	case t.IsZero():
		return "at a time neither they nor the files say"
	case t.Before(now):
		return fmt.Sprintf("at %s (%s ago)", t.UTC().Format(time.RFC3339), now.Sub(t).Round(time.Second))
	}
	return fmt.Sprintf("at %s (in %s)", t.UTC().Format(time.RFC3339), t.Sub(now).Round(time.Second))
}
