package engine

// EligibilityRules are the engine's rules in the order Ineligible checks
// them; the vault mapping's skip comes first. query.Explain walks them
// to trace a decision.
var EligibilityRules = []string{ruleVaultSkip, ruleGone, ruleStatus, ruleContinuous, ruleCold, ruleNotCopyable, ruleManagedKey, ruleRetention}
