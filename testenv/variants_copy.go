package testenv

// The variants that change StartCopyJob and copy jobs: other-texts,
// forget-tokens and busy-resources; and the refusal counts that let a
// test prove shuffle kept within the quotas.

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"time"
)

// Refusal kinds: why StartCopyJob answered LimitExceededException
// (Counters.Refusals).
const (
	// RefusalResource: the resource already had a copy job in flight
	// (Quotas.ResourceJobs).
	RefusalResource = "resource"
	// RefusalAccount: the account's in-flight copy jobs were at
	// Quotas.AccountCopyJobs.
	RefusalAccount = "account"
	// RefusalVault: the destination vault's in-flight copy jobs were at
	// Quotas.VaultCopyJobs (with Quotas.OverLimit).
	RefusalVault = "vault"
	// RefusalBusy: a backup job of the source account's own plans was
	// running on the resource (busy-resources). Not a quota shuffle can
	// keep within, so it is counted apart from the others.
	RefusalBusy = "busy"
)

// forgetTokensAfter is how long, in simulated time, forget-tokens
// remembers an idempotency token.
const forgetTokensAfter = 24 * time.Hour

// limitExceeded counts a refusal of kind and makes its error: text, or
// with other-texts another wording.
func (s *Server) limitExceeded(kind, text string) *apiError {
	s.counters.refuse(kind)
	if s.variant(VariantOtherTexts) {
		text = s.otherText(limitTexts)
	}
	return apiErr(400, "LimitExceededException", text).ptr()
}

// limitTexts are other-texts' LimitExceededException wordings. None
// names a vault or a resource, so none says which limit was hit.
var limitTexts = []string{
	"Too many jobs are in progress. Try again later.",
	"The request exceeds a concurrency limit for this operation.",
	"Limit exceeded for concurrent copy operations.",
	"Your request was rejected because a service limit was reached.",
}

// failTexts are other-texts' FAILED StatusMessages, by MessageCategory.
var failTexts = map[string][]string{
	"InternalError":     {"The operation did not complete. Try again later.", "Unexpected error while copying. Please retry."},
	"AccessDenied":      {"Access denied for the copy target.", "The copy is not permitted by the target's permissions."},
	"ResourceNotFound":  {"The copy target was not found.", "Target does not exist."},
	"InvalidParameters": {"The copy settings are not accepted by the target.", "Retention settings conflict with the target's rules."},
}

// otherText picks one of texts, or about one time in five a text that
// says nothing at all, from the variants' seeded source.
func (s *Server) otherText(texts []string) string {
	n := s.variants.intN(5 * len(texts))
	if n < len(texts) {
		return fmt.Sprintf("Request failed (reference %08X).", uint32(s.variants.intN(1<<31)))
	}
	return texts[n%len(texts)]
}

// failText is the StatusMessage a job bound to fail ends with: msg, or
// with other-texts another wording for its category.
func (s *Server) failText(msg, category string) string {
	if msg == "" || !s.variant(VariantOtherTexts) {
		return msg
	}
	texts := failTexts[category]
	if len(texts) == 0 {
		texts = failTexts["InternalError"]
	}
	return s.otherText(texts)
}

// tokenMemory is how long StartCopyJob remembers a token: the option,
// or with forget-tokens (when the option is "forever") 24 h of
// simulated time.
func (s *Server) tokenMemory() time.Duration {
	m := s.opts.IdempotencyMemory
	if m == 0 && s.variant(VariantForgetTokens) {
		m = max(s.simDuration(forgetTokensAfter.Seconds()), time.Nanosecond)
	}
	return m
}

// Source backup jobs under busy-resources: the source account's own
// plans back most resources up once a simulated day, starting at a
// random time and running 15-75 simulated minutes. Whether a resource
// is backed up on a day, when and for how long are a hash of the seed,
// the resource and the day, so its busy periods are fixed by the seed
// and cost no state.
const (
	busySlot    = 24 * 3600.0 // simulated seconds
	busyPercent = 60          // share of resources backed up on a given day
)

// resourceBusy says whether a source backup job runs on resource now.
func (s *Server) resourceBusy(resource string) bool {
	// Simulated seconds, from a week before the emulator started, so
	// that some resources are busy from the first call on.
	sim := s.now().Sub(s.variants.start).Seconds()*s.opts.CopySpeed + 7*busySlot
	if sim < 0 {
		return false
	}
	k := int64(sim / busySlot)
	for _, slot := range []int64{k - 1, k} {
		if slot < 0 {
			continue
		}
		h := fnv.New64a()
		_, _ = h.Write([]byte(strconv.FormatInt(s.variants.seed, 10) + "|" + resource + "|" + strconv.FormatInt(slot, 10)))
		x := h.Sum64()
		if x%100 >= busyPercent {
			continue
		}
		from := float64(slot)*busySlot + float64((x>>8)%uint64(busySlot))
		dur := 900 + float64((x>>24)%3600)
		if sim >= from && sim < from+dur {
			return true
		}
	}
	return false
}

// busyRefusal is busy-resources' answer to a copy of a busy resource.
func (s *Server) busyRefusal(rp *RecoveryPoint) *apiError {
	if !s.variant(VariantBusyResources) || rp.Account != SourceAccount || !s.resourceBusy(rp.ResourceArn) {
		return nil
	}
	return s.limitExceeded(RefusalBusy, "Resource "+rp.ResourceArn+" already has a job in progress; only 1 concurrent backup or copy job is allowed per resource")
}
