package scriptconfig

import "time"

// Endpoint is one side of the migration.
type Endpoint struct {
	Profile string // AWS shared-config profile
	Account string // 12-digit account id the profile must resolve to
	Region  string
}

// Config is what the operator's script declares with shuffle.config.
type Config struct {
	Source, Destination Endpoint
	Metadata            string // metadata CSV path, relative to the working directory as written
	CopyRole            string // IAM role ARN that copy jobs use, in the source account
	Policies            PolicyConfig
	// OnPause is a command (program and arguments) run outside the
	// sandbox when a run pauses on expired credentials; nil for none.
	OnPause []string
	// OnEvent is a command run outside the sandbox for each event of
	// the run (docs/events.md), with the event's JSON on stdin; nil for
	// none. OnEventKinds, when set, are the only kinds it gets.
	OnEvent      []string
	OnEventKinds []string
	// FailureBurst is when failed copies make a failure-burst event;
	// zero fields take the defaults (20 in 10 minutes).
	FailureBurst FailureBurst
	Line         int // script line of the shuffle.config call, for error messages
}

// FailureBurst is failure_burst = {failures = N, minutes = M}: N failed
// copies within M minutes are a burst.
type FailureBurst struct {
	Failures int
	Window   time.Duration
}

// PolicyConfig says which policy modules apply.
type PolicyConfig struct {
	Dir string // the policies directory; "" is "policies"
	// Decide names the modules whose decide(rp) run, in order; at least
	// one is required.
	Decide []string
	// Vaults names the module whose map(vault) maps source vaults to
	// destination vaults; "" maps like-for-like.
	Vaults string
	// Tags names the module whose tags(rp) gives a copy's tags; "" gives
	// none.
	Tags string
	// Compliance names the module whose check(vault) judges vaults for
	// `shuffle check`; "" checks none. It does not take part in decisions.
	Compliance string
	Timeout    time.Duration // per policy call; 0 is luabind's DefaultTimeout (Budgets.Time wins when set)
	// Budgets bound each policy call; zero fields take their value from
	// luabind's DefaultPolicyBudgets (shuffle.config's policies.limits).
	Budgets Budgets
}

// Budgets bound the Lua work of one policy call, or of one stretch of
// the operator's script between two shuffle calls. A zero field is no
// bound.
//
//   - Memory counts the bytes allocated while the call runs (from the
//     runtime's allocation counter and, exactly, by the string
//     functions), not what stays live: a call that builds and drops
//     many strings uses its budget too.
//   - Time is wall time.
//   - Instructions counts Lua VM instructions; it does not depend on
//     how busy the machine is.
type Budgets struct {
	Memory       uint64
	Time         time.Duration
	Instructions int64
}

// WithDefaults fills the zero fields of b from d.
func (b Budgets) WithDefaults(d Budgets) Budgets {
	if b.Memory == 0 {
		b.Memory = d.Memory
	}
	if b.Time == 0 {
		b.Time = d.Time
	}
	if b.Instructions == 0 {
		b.Instructions = d.Instructions
	}
	return b
}

// CopyArgs are the options of shuffle.copy{...}; zero means the default.
type CopyArgs struct {
	MaxInFlight  int     // max_in_flight: copy jobs in flight (default 100)
	VaultCap     int     // vault_cap: per destination vault (default none until AWS says otherwise)
	MaxAttempts  int     // max_attempts: per RP, for retryable job failures (default 3)
	RetryBase    float64 // retry_base: seconds before the 2nd attempt, doubling after (default 300)
	StartWorkers int     // start_workers: StartCopyJob calls at once (default 16)
	StartTPS     float64 // start_tps: initial StartCopyJob calls per second (default 50)
	PollMin      float64 // poll_min: seconds, shortest completion-poll interval (default 0.2)
	PollMax      float64 // poll_max: seconds, longest (default 60)
	BusyBackoff  float64 // busy_backoff: seconds a resource refused as busy waits first, doubling after (default 60)
	CallBackoff  float64 // call_backoff: seconds before a failed StartCopyJob call is made again, times its failures (default 10)
	NoWait       bool    // wait = false: return when nothing more can start
	Line         int
}
